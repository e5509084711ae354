"""Issue 14, finding 8, against the reporting service as a real uvicorn process over raw HTTP/1.1 keep-alive.

Before the fix, `period=0000` answered 500; `as_of=9999-12-31` answered 422 and the connection was then reset
(an exception that reaches uvicorn closes the connection after the error page); a CR/LF in `period` broke the
Content-Disposition header, so the connection was dropped with no answer at all; a `unit_code` of `=1+2` reached
a CSV cell and the file name; and a real export had cells "== 0" (the targets "must be zero") that a spreadsheet
reads as formulas. Each attack is sent on one connection followed by a plain request, which must be answered on
the same connection.
"""

from __future__ import annotations

import csv
import io
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.base.settings import ServiceSettings
from tests.harness import ServiceProcess
from tests.support.api import token
from tests.support.services import fresh_schema, isolated_topics, owner_dsn

pytestmark = pytest.mark.integration
PLAIN = "/api/v1/reports/indicators?unit_code=220&period=2024"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@pytest.fixture(scope="module")
async def port(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[int]:
    free = _free_port()
    async with isolated_topics("rhx") as prefix, fresh_schema("rhx") as schema:
        env = {
            **os.environ,
            "REHAB_TOPIC_PREFIX": prefix,
            "REHAB_LOG_LEVEL": "WARNING",
            "REHAB_REPORTING_DATABASE_URL": owner_dsn(ServiceSettings()),
            "REHAB_REPORTING_DB_SCHEMA": schema,
            "REHAB_REPORTING_HTTP_PORT": str(free),
        }
        log = Path(tmp_path_factory.mktemp("hostile")) / "reporting.log"
        process = ServiceProcess("reporting", free, env, log)
        await process.start()
        try:
            yield free
        finally:
            process.stop()


@pytest.fixture
def connection(port: int) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        yield sock


def ask(sock: socket.socket, target: str, who: tuple[str, str] = ("district_officer", "220")) -> Answer:
    """One request on an open keep-alive connection, and its whole answer (read by Content-Length)."""
    auth = token(*who)["Authorization"]
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: reporting\r\nAuthorization: {auth}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection was closed with no answer to {target!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, f"the connection was closed in the middle of the answer to {target!r}"
        body += chunk
    return Answer(int(lines[0].split()[1]), headers, body)


def then_still_answered(sock: socket.socket) -> None:
    answer = ask(sock, PLAIN)
    assert answer.status == 200 and b'"indicators"' in answer.body


async def test_period_0000_is_422_not_500(connection: socket.socket) -> None:
    answer = ask(connection, "/api/v1/reports/indicators?unit_code=220&period=0000")
    assert answer.status == 422 and b"period_out_of_range" in answer.body, answer.body
    assert answer.headers.get("connection") != "close"
    then_still_answered(connection)


@pytest.mark.parametrize("report", ["outstanding", "post-rehab-coverage", "indicators"])
async def test_as_of_9999_12_31_is_422_and_the_connection_lives_on(connection: socket.socket, report: str) -> None:
    answer = ask(connection, f"/api/v1/reports/{report}?unit_code=220&as_of=9999-12-31")
    assert answer.status == 422 and b"date_out_of_range" in answer.body, answer.body
    then_still_answered(connection)


async def test_a_crlf_in_period_is_422_without_dropping_the_connection(connection: socket.socket) -> None:
    answer = ask(connection, "/api/v1/reports/periodic?unit_code=220&period=%0d%0a2025&format=csv")
    assert answer.status == 422 and b"bad_period" in answer.body, answer.body
    assert "content-disposition" not in answer.headers
    then_still_answered(connection)


@pytest.mark.parametrize("who", [("admin", "VN"), ("district_officer", "220")])
async def test_a_unit_code_that_is_no_unit_is_422(connection: socket.socket, who: tuple[str, str]) -> None:
    answer = ask(connection, "/api/v1/reports/periodic?unit_code=%3D1%2B2&period=2024&format=csv", who)
    assert answer.status == 422 and b'"unit_code"' in answer.body, answer.body  # a national caller too
    assert "content-disposition" not in answer.headers and b"=1+2" not in answer.body
    then_still_answered(connection)


async def test_a_csv_export_has_no_cell_a_spreadsheet_would_run(connection: socket.socket) -> None:
    answer = ask(connection, "/api/v1/reports/periodic?unit_code=220&period=2024-H1&format=csv")
    assert answer.status == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="bao-cao-220-2024-H1.csv"'
    cells = [c for row in csv.reader(io.StringIO(answer.body.decode("utf-8-sig"))) for c in row]
    assert "Huyện Sơn Động (220)" in cells
    assert "'== 0" in cells  # the target "== 0" of the absconders indicator, which Excel took for a formula
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _number(c))]
    then_still_answered(connection)


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
