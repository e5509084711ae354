"""The four services as real processes on throw-away schemas and topics (end-to-end, fuzz and fault tests).

Each service runs as `python -m services.<name>` with its own schema, its own HTTP port and a topic prefix no
other test uses, exactly as `make up` runs it; tests reach it over HTTP only, and may kill it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import text

from services.topology import EVERY_TOPIC
from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.ids import uuid7
from shared.kernel.kafka import delete_topics
from tests.support.api import Api
from tests.support.ports import free_ports
from tests.support.services import fresh_schema, owner_dsn

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("registry", "cases", "quotas", "reporting")


@dataclass
class ServiceProcess:
    """One service as an OS process in its own session (so a signal reaches it and nothing else)."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 90) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        process = self.process
        async with httpx.AsyncClient(timeout=5) as client:
            with contextlib.suppress(AssertionError):  # too slow: said below, with the service's log
                if await Api(client).ready(self.url, timeout, alive=lambda: process.poll() is None):
                    return
        raise AssertionError(f"{self.name} did not become ready:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        """SIGTERM: the graceful shutdown an orchestrator asks for."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL: the process dies wherever it is, mid-request or mid-batch."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


@dataclass
class System:
    """The four services on fresh schemas and topics and free ports; `env` overrides settings (another Kafka)."""

    tag: str
    logs: Path
    env: dict[str, str] = field(default_factory=dict)  # REHAB_PG_PORT (and friends): another PostgreSQL too
    ports: dict[str, int] = field(default_factory=lambda: free_ports(NAMES))
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    schemas: dict[str, str] = field(default_factory=dict)
    prefix: str = ""
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    _api: Api | None = None

    @property
    def api(self) -> Api:
        """The tests' HTTP driver on these services (absolute URLs: `system["cases"].url + "/api/v1/..."`)."""
        if self._api is None:
            self._api = Api(httpx.AsyncClient(timeout=httpx.Timeout(30, connect=5)))
        return self._api

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    @property
    def settings(self) -> ServiceSettings:
        """Platform settings as the services see them (their Kafka, their topic prefix)."""
        overrides = {k.removeprefix("REHAB_").lower(): v for k, v in self.env.items() if k.startswith("REHAB_")}
        return ServiceSettings.model_validate({**overrides, "topic_prefix": self.prefix})

    async def __aenter__(self) -> System:
        self.prefix = f"{self.tag}{uuid7().hex[-10:]}"
        self.logs.mkdir(parents=True, exist_ok=True)
        platform = self.settings
        for name in NAMES:
            schema = fresh_schema(f"{self.tag}{name[:2]}", platform)
            self.schemas[name] = await self._stack.enter_async_context(schema)
            key = name.upper()
            env = {
                **os.environ,
                "REHAB_TOPIC_PREFIX": self.prefix,
                "REHAB_LOG_LEVEL": "WARNING",
                f"REHAB_{key}_DATABASE_URL": owner_dsn(platform),
                f"REHAB_{key}_DB_SCHEMA": self.schemas[name],
                f"REHAB_{key}_HTTP_PORT": str(self.ports[name]),
                # the load registers faster than any official by hand: the per-account lookup limit would refuse it
                "REHAB_REGISTRY_IDENTITY_LOOKUPS_PER_MINUTE": "1000000",
                "REHAB_REGISTRY_IDENTITY_LOOKUPS_PER_DAY": "100000000",
                # the platform's Kafka identity (the admin), as the database owner above: ACLs name the deployed
                # topics, and these topics carry a prefix of the test's own (make up runs each as itself)
                f"REHAB_{key}_KAFKA_USERNAME": platform.kafka_username,
                f"REHAB_{key}_KAFKA_PASSWORD": platform.kafka_password.get_secret_value(),
                **self.env,
            }
            self.services[name] = ServiceProcess(name, self.ports[name], env, self.logs / f"{name}.log")
        try:
            await asyncio.gather(*(s.start() for s in self.services.values()))
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._api is not None:
            await self._api.http.aclose()
        for service in self.services.values():
            service.stop()
        await self._stack.aclose()
        settings = self.settings
        if "REHAB_KAFKA_BOOTSTRAP" not in self.env:  # a dedicated Kafka is thrown away with its topics
            await delete_topics(settings, [settings.topic(t) for t in EVERY_TOPIC])

    async def rows(self, name: str, sql: str, **params: Any) -> list[Any]:
        """The rows a query reads in a service's schema (the tests' window onto what was stored)."""
        engine = make_engine(owner_dsn(self.settings), self.schemas[name], 1)
        try:
            async with engine.connect() as conn:
                return list(await conn.execute(text(sql), params))
        finally:
            await engine.dispose()

    async def scalar(self, name: str, sql: str) -> int:
        """One number from a service's schema."""
        found = await self.rows(name, sql)
        return int((found[0][0] if found else 0) or 0)
