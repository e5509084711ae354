"""The reports' latency at national scale (issue 20): a commune, a province and the nation, over facts filled by
`tests/perf/facts_fill.py` (250,000 people) in a throw-away schema.

    python -m tests.perf.bench_reports fill SCHEMA [PERSONS]          # a new schema, migrated, generation 0 filled
    python -m tests.perf.bench_reports time SCHEMA OUT [CALLS [SCOPES]]  # CALLS (20) calls of each report
    python -m tests.perf.bench_reports drop SCHEMA

SCOPES is a comma-separated subset of commune,province,nation (all three by default).

`time` appends to OUT (JSON lines): the seconds of every call, and the SHA-256 of each report's JSON (keys in
their order), so two versions of the code can be timed in alternate rounds over the same facts and their
outputs compared. Each call runs as `api.reports_for` runs it: its own REPEATABLE READ transaction, and above a
commune the statements side by side on LANES connections in its snapshot.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.api import LANES
from services.reporting.apply import SWAP_LOCK, hold
from services.reporting.facts import MIGRATIONS, create_generation, current, shared_snapshot
from services.reporting.periods import parse_period
from services.reporting.reports import Reports
from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.migrations import migrate
from shared.kernel.store_schema import KERNEL_MIGRATIONS
from shared.vn.units import admin_units
from tests.perf.facts_fill import PERSONS, fill
from tests.support.services import owner_dsn

SCOPES = {"commune": "07615", "province": "24", "nation": "VN"}  # Xã Sơn Động; Bắc Ninh (old Bắc Giang + Bắc Ninh)
Report = Callable[[Reports, str], Awaitable[dict[str, Any]]]
H1, YEAR = parse_period("2026-H1"), parse_period("2026")
REPORTS: dict[str, Report] = {
    "quota_progress 2026": lambda r, u: r.quota_progress(2026, u),
    "coverage 2026-H1": lambda r, u: r.coverage(u, H1),
    "coverage 2026": lambda r, u: r.coverage(u, YEAR),
    "indicators 2026-H1": lambda r, u: r.indicators(u, H1),
    "indicators 2026": lambda r, u: r.indicators(u, YEAR),
    "outstanding 2026-06-30": lambda r, u: r.outstanding(u, date(2026, 6, 30)),
    "outstanding 2026-12-31": lambda r, u: r.outstanding(u, date(2026, 12, 31)),
    "periodic 2026-H1": lambda r, u: r.periodic(u, H1),
    "periodic 2026": lambda r, u: r.periodic(u, YEAR),
}


def engine_on(schema: str) -> AsyncEngine:
    return make_engine(owner_dsn(ServiceSettings.for_service("reporting")), schema, 2)


async def make(schema: str, persons: int) -> None:
    admin = make_engine(owner_dsn(ServiceSettings.for_service("reporting")), "public", 1)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    engine = engine_on(schema)
    await migrate(engine, schema, [*KERNEL_MIGRATIONS, *MIGRATIONS])
    started = time.perf_counter()
    async with engine.begin() as conn:
        f = await create_generation(conn, 0)
        events = await fill(conn, f, admin_units(), persons)
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE"))
    print(f"{schema}: {persons:,} persons, {events:,} events folded in {time.perf_counter() - started:.0f}s")
    await engine.dispose()


async def drop(schema: str) -> None:
    admin = make_engine(owner_dsn(ServiceSettings.for_service("reporting")), "public", 1)
    async with admin.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()


async def one(engine: AsyncEngine, report: Report, unit: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        await hold(conn, SWAP_LOCK)
        f = await current(conn)
        lanes = 0 if unit == SCOPES["commune"] else LANES - 1  # as api.reports_for: above a commune, side by side
        async with shared_snapshot(engine, conn, lanes) as more:
            out = await report(Reports(conn, f, admin_units(), lanes=more), unit)
    return time.perf_counter() - started, out


async def timed(schema: str, out: str, calls: int, scopes: list[str]) -> None:
    engine = engine_on(schema)
    await one(engine, REPORTS["outstanding 2026-06-30"], "07615")  # warm: the catalogue, the pool
    for scope in scopes:
        unit = SCOPES[scope]
        for name, report in REPORTS.items():
            seconds, digests = [], set()
            for _ in range(calls):
                took, result = await one(engine, report, unit)
                seconds.append(took)
                digests.add(hashlib.sha256(json.dumps(result, default=str).encode()).hexdigest())
            _append(out, {"scope": scope, "report": name, "seconds": seconds, "sha256": sorted(digests)})
            print(f"{scope:9} {name:24} {sorted(seconds)[len(seconds) // 2] * 1000:9.1f} ms", flush=True)
    await engine.dispose()


def _append(out: str, line: dict[str, Any]) -> None:
    with open(out, "a", encoding="utf-8") as sink:
        sink.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    command, schema = sys.argv[1], sys.argv[2]
    if command == "fill":
        asyncio.run(make(schema, int(sys.argv[3]) if len(sys.argv) > 3 else PERSONS))
    elif command == "time":
        calls = int(sys.argv[4]) if len(sys.argv) > 4 else 20
        asyncio.run(timed(schema, sys.argv[3], calls, sys.argv[5].split(",") if len(sys.argv) > 5 else list(SCOPES)))
    else:
        asyncio.run(drop(schema))
