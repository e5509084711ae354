"""`rehab login` through Keycloak's device flow, as an official at a terminal would, then the CLI's commands on the
stored token against the four services as real processes (which trust the realm, as `make up`'s do)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.identity import KeycloakAdmin, ensure_demo_accounts
from tests.harness import ROOT, System
from tests.support.keycloak import Browser, issuer_env, keycloak_up
from tests.support.polling import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    assert keycloak_up(), "Keycloak's rehab realm does not answer on 127.0.0.1:8080: make platform starts it"
    trust = issuer_env(REHAB_OIDC_INTROSPECTION_SECONDS="1")
    async with System("si", tmp_path_factory.mktemp("logs"), env=trust) as running:
        yield running


def rehab(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


async def test_rehab_login_completes_the_device_flow_and_the_commands_use_the_stored_token(
    system: System, tmp_path: Path
) -> None:
    with KeycloakAdmin() as admin:
        accounts = ensure_demo_accounts(admin, ROOT / ".local" / "demo-accounts.json")
    officer = next(a for a in accounts if a["role"] == "commune_officer")
    env = {k: v for k, v in os.environ.items() if k != "REHAB_TOKEN"} | {"REHAB_CONFIG_DIR": str(tmp_path / "cfg")}
    reporting = ["--url", system["reporting"].url]

    assert rehab("report", "coverage", "--unit", "07615", *reporting, env=env).returncode == 2  # not signed in

    login = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "login"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        printed = ""
        while (found := re.search(r"(http\S+/device\?user_code=\S+)", printed)) is None:
            line = await asyncio.to_thread(login.stdout.readline)  # type: ignore[union-attr]
            assert line, f"rehab login printed no device address: {printed} {login.stderr.read()}"  # type: ignore[union-attr]
            printed += line
        assert "nhập mã" in printed  # the instructions, in Vietnamese first
        page = await asyncio.to_thread(
            Browser().approve_device, found.group(1), officer["username"], officer["password"]
        )
        assert "thành công" in page, page  # "Đăng nhập trên thiết bị thành công"
        out, err = await asyncio.to_thread(login.communicate, timeout=60)
    finally:
        login.kill()
    assert login.returncode == 0, (out, err)
    assert "commune_officer" in out and "07615" in out

    stored = tmp_path / "cfg" / "credentials.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    me = rehab("whoami", *reporting, env=env)
    assert me.returncode == 0, me.stderr
    assert "commune_officer" in me.stdout and "07615 Xã Sơn Động" in me.stdout, me.stdout

    coverage = rehab(
        "report", "coverage", "--unit", "07615", "--as-of", "2025-12-31", "--format", "json", *reporting, env=env
    )
    assert coverage.returncode == 0, coverage.stderr
    assert json.loads(coverage.stdout)["unit_code"] == "07615"
    outside = rehab("report", "coverage", "--unit", "24", *reporting, env=env)
    assert outside.returncode == 1 and "403" in outside.stderr  # the province is outside a commune's area

    # an expired access token is refreshed with the refresh token, and the new one saved
    saved = json.loads(stored.read_text())
    stored.write_text(json.dumps({**saved, "expires_at": 0}))
    again = rehab("report", "coverage", "--unit", "07615", "--format", "json", *reporting, env=env)
    assert again.returncode == 0, again.stderr
    refreshed = json.loads(stored.read_text())
    assert refreshed["access_token"] != saved["access_token"] and refreshed["expires_at"] > saved["expires_at"] - 1

    # sign-out ends the session at Keycloak: the stored tokens are gone and the last access token stops working
    assert rehab("logout", env=env).returncode == 0
    assert not stored.exists()
    assert rehab("whoami", *reporting, env=env).returncode == 2
    last = {"Authorization": f"Bearer {refreshed['access_token']}"}
    whoami = system["reporting"].url + "/api/v1/whoami"
    await wait_until(
        lambda: system.api.send("GET", whoami, headers=last), lambda r: r.status_code == 401, 10, 0.2, "401"
    )
