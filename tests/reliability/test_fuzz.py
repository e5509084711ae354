"""schemathesis against each service's OpenAPI: whatever a client sends, no answer is a 5xx."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from shared.auth import TokenCodec
from shared.ids import uuid7
from shared.settings import ServiceSettings
from shared.testing import fresh_schema, isolated_topics, owner_dsn

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PORTS = {"registry": 18301, "cases": 18302, "quotas": 18303, "reporting": 18304}
ROLE = {
    "registry": ("district_officer", "220"),
    "cases": ("district_officer", "220"),
    "quotas": ("province_officer", "24"),
    "reporting": ("district_officer", "220"),
}


class Running:
    """Context: the four services as processes on throw-away schemas and topics."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self._contexts: list[object] = []

    def __enter__(self) -> Running:
        loop = asyncio.new_event_loop()
        self.loop = loop
        self.topics = isolated_topics("fz")
        prefix = loop.run_until_complete(self.topics.__aenter__())
        self.schemas = []
        for name, port in PORTS.items():
            ctx = fresh_schema(f"fz{name[:2]}")
            schema = loop.run_until_complete(ctx.__aenter__())
            self.schemas.append(ctx)
            key = name.upper()
            env = {
                **os.environ,
                "REHAB_TOPIC_PREFIX": prefix,
                "REHAB_LOG_LEVEL": "ERROR",
                f"REHAB_{key}_DATABASE_URL": owner_dsn(ServiceSettings()),
                f"REHAB_{key}_DB_SCHEMA": schema,
                f"REHAB_{key}_HTTP_PORT": str(port),
            }
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", f"services.{name}"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        for port in PORTS.values():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(30)
        for ctx in self.schemas:
            self.loop.run_until_complete(ctx.__aexit__(None, None, None))
        self.loop.run_until_complete(self.topics.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with Running() as system:
        yield system


# `make test` replays the same derandomized examples every run; `make test-reliability` (REHAB_FUZZ_RANDOM=1)
# draws new ones, four times as many.
RANDOM = os.environ.get("REHAB_FUZZ_RANDOM") == "1"
FUZZ = settings(
    max_examples=100 if RANDOM else 25,
    derandomize=not RANDOM,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
CHECKED: dict[str, int] = {}


def _auth(name: str) -> dict[str, str]:
    codec = TokenCodec(ServiceSettings().jwt_secret.get_secret_value())
    return {"Authorization": f"Bearer {codec.issue(f'fuzz-{uuid7().hex[-6:]}', *ROLE[name])}"}


@pytest.mark.parametrize("name", list(PORTS))
def test_no_input_gets_a_server_error(running: Running, name: str) -> None:
    schema = schemathesis.openapi.from_url(f"http://127.0.0.1:{PORTS[name]}/openapi.json")
    headers = _auth(name)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @FUZZ
        def check(case: Any) -> None:
            response = case.call(headers=headers, timeout=30)
            CHECKED[name] = CHECKED.get(name, 0) + 1
            if response.status_code >= 500:
                print("SERVER ERROR", case.method, case.formatted_path, case.query, repr(case.body)[:300])
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

        check()
    print(f"{name}: {CHECKED.get(name, 0)} generated requests, {len(failures)} server errors")
    assert not failures, "\n".join(failures[:10])
