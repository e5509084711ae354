"""An import killed with SIGKILL mid-file resumes on restart and creates every person exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.runtime.auth import TokenCodec
from tests.perf.people import as_csv, people
from tests.support.api import Api, token
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.services import fresh_schema, owner_dsn

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
PORT = free_port()  # picked when the module is collected: two runs never share it
ROWS = 6000


@contextmanager
def registry_process(schema: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "REHAB_REGISTRY_DATABASE_URL": owner_dsn(ServiceSettings()),
        "REHAB_REGISTRY_DB_SCHEMA": schema,
        "REHAB_REGISTRY_HTTP_PORT": str(PORT),
        "REHAB_LOG_LEVEL": "WARNING",
        "REHAB_TOPIC_PREFIX": "regproc",  # test topics of its own, never the real ones
    }
    proc = subprocess.Popen([sys.executable, "-m", "services.registry"], cwd=ROOT, env=env, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


async def ready(client: httpx.AsyncClient) -> None:
    await Api(client).ready(timeout=30)


async def test_an_import_killed_midway_resumes_and_creates_each_person_once() -> None:
    headers = token("province_officer", "24", sub="police-24")
    content = as_csv(list(people(ROWS, seed=11)))
    async with (
        fresh_schema("regkill") as schema,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as client,
    ):
        with registry_process(schema) as first:
            await ready(client)
            submitted = await client.post(
                "/api/v1/persons/imports",
                files={"file": ("list.csv", content, "text/csv")},
                data={"recorded_on": "2024-03-01"},
                headers=headers,
            )
            import_id = submitted.json()["import_id"]
            location = f"/api/v1/persons/imports/{import_id}"

            async def progress() -> dict[str, Any]:
                return dict((await client.get(location, headers=headers)).json())

            report = await wait_until(progress, lambda r: r["processed"] >= 1000, 30, 0.05, "1,000 rows imported")
            assert report["status"] == "running" and 1000 <= report["processed"] < ROWS, report
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
        with registry_process(schema):
            await ready(client)
            report = await wait_until(progress, lambda r: r["status"] == "done", 120, 0.1, "the import resumed to done")
        assert (report["status"], report["created"], report["duplicates"], report["rejected"]) == ("done", ROWS, 0, [])
        engine = make_engine(owner_dsn(ServiceSettings()), schema, 1)
        async with engine.connect() as conn:
            counts = {
                table: (await conn.execute(text(f"SELECT count(*), count(DISTINCT {column}) FROM {table}"))).one()
                for table, column in [
                    ("events", "stream_id"),
                    ("persons", "person_id"),
                    ("identities", "match_key"),
                    ("outbox", "event_id"),
                ]
            }
        await engine.dispose()
        assert {t: tuple(c) for t, c in counts.items()} == {t: (ROWS, ROWS) for t in counts}


async def test_rehab_import_persons_shows_progress_and_the_report(tmp_path: Path) -> None:
    token = TokenCodec(ServiceSettings().jwt_secret.get_secret_value()).issue("police-220", "district_officer", "220")
    rows = [*people(40, seed=5), ["Lê Văn Sai", "01/01/1990", "Nam", "123", "07616", "Thôn Mới", "Nghiện"]]
    listing = tmp_path / "ra-soat.csv"
    listing.write_bytes(as_csv(rows))
    async with fresh_schema("regcli") as schema, httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}") as client:
        with registry_process(schema):
            await ready(client)
            command = [
                sys.executable,
                "-m",
                "services.cli",
                "import",
                "persons",
                str(listing),
                "--recorded-on",
                "2024-03-01",
                "--url",
                f"http://127.0.0.1:{PORT}",
                "--token",
                token,
            ]
            done = await asyncio.to_thread(
                subprocess.run, command, cwd=ROOT, capture_output=True, text=True, timeout=120
            )
    assert done.returncode == 0, done.stderr
    assert "41/41 rows (100%)" in done.stderr
    assert "Đã tạo / created                 40" in done.stdout
    assert "dòng 42: citizen_id: citizen_id must be exactly 12 digits" in done.stdout
