"""`python -m services.<name>`: check the configuration, then serve. Bad configuration is one line, not a trace."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
from collections.abc import Callable

import uvicorn
from pydantic import ValidationError
from sqlalchemy import text

from shared.base.logs import configure_logging, one_line
from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.kafka import kafka_problem
from shared.runtime.service import ServiceSpec, create_app


class ConfigurationError(Exception):
    """A problem with the environment the service was started in; its message says how to fix it."""


def check_port(settings: ServiceSettings) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((settings.http_host, settings.http_port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigurationError(
                    f"port {settings.http_port} is already in use: stop the other process (make down) or set "
                    f"REHAB_{settings.service.upper()}_HTTP_PORT to a free port"
                ) from None
            raise ConfigurationError(f"cannot listen on {settings.http_host}:{settings.http_port}: {exc}") from None


async def check_database(settings: ServiceSettings) -> None:
    engine = make_engine(settings.dsn(), settings.schema_name, 1)
    try:
        async with asyncio.timeout(10), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        where = f"{engine.url.host}:{engine.url.port}/{engine.url.database} as {engine.url.username}"
        raise ConfigurationError(
            f"cannot connect to PostgreSQL at {where} ({one_line(exc)}): start it with 'make up' or fix "
            f"REHAB_{settings.service.upper()}_DATABASE_URL"
        ) from None
    finally:
        await engine.dispose()


async def check_kafka(settings: ServiceSettings) -> None:
    problem = await kafka_problem(settings, timeout=10)
    if problem is not None:
        svc = settings.service.upper()
        raise ConfigurationError(
            f"Kafka at {settings.kafka_bootstrap} is unreachable or refuses user {settings.kafka_username} "
            f"({problem}): start it with 'make up', or set REHAB_KAFKA_BOOTSTRAP, REHAB_KAFKA_SECURITY_PROTOCOL "
            f"and REHAB_{svc}_KAFKA_USERNAME / REHAB_{svc}_KAFKA_PASSWORD"
        )


def preflight(settings: ServiceSettings) -> None:
    check_port(settings)
    asyncio.run(check_database(settings))
    asyncio.run(check_kafka(settings))


def run(name: str, make_spec: Callable[[], ServiceSpec], default_port: int = 8000) -> None:
    """Entry point of a service process; it listens on `default_port` unless REHAB_<NAME>_HTTP_PORT says."""
    try:
        settings = ServiceSettings.for_service(name, default_port)
    except ValidationError as exc:
        sys.exit(f"rehab-{name}: invalid configuration: {one_line(exc)}")
    configure_logging(name, settings.log_level, settings.log_json)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # preflight reports Kafka problems itself
    try:
        preflight(settings)
    except ConfigurationError as exc:
        sys.exit(f"rehab-{name}: {exc}")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    app = create_app(make_spec(), settings)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False)
