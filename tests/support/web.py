"""The web app as a process of its own beside a test's four services, signed in to the realm as its own client."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.identity import KeycloakAdmin
from tests.harness import ServiceProcess, System
from tests.support.keycloak import web_client
from tests.support.ports import free_port


@asynccontextmanager
async def running_web(admin: KeycloakAdmin, system: System) -> AsyncIterator[str]:
    """The web app on a free port, a client of `system`'s services and of a throw-away copy of `rehab-web`; its
    address (its log beside the services')."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with web_client(admin, base) as (client_id, secret):
        env = {
            **os.environ,
            "REHAB_WEB_HTTP_PORT": str(port),
            "REHAB_WEB_PUBLIC_URL": base,
            "REHAB_WEB_OIDC_CLIENT_ID": client_id,
            "REHAB_WEB_OIDC_CLIENT_SECRET": secret,
            "REHAB_LOG_LEVEL": "WARNING",
            **{f"REHAB_WEB_{name.upper()}_URL": system[name].url for name in system.services},
        }
        app = ServiceProcess("web", port, env, system.logs / "web.log")
        await app.start()
        try:
            yield base
        finally:
            app.stop()
