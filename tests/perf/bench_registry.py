"""`make bench`: importing 50,000 people through the registry, beside a plain COPY of the same rows."""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from dataclasses import replace

import asyncpg

from services.registry.app import spec
from shared.base.settings import ServiceSettings
from shared.kernel.kafka import delete_topics
from shared.runtime.offload import start_processes
from tests.perf.people import as_csv, people
from tests.support.services import ServiceClient, fresh_schema, running_service

DEFAULT_ROWS = 50_000


async def copy_baseline(schema: str, rows: list[list[str]]) -> float:
    settings = ServiceSettings()
    conn = await asyncpg.connect(
        host=settings.pg_host, port=settings.pg_port, user="rehab", password="rehab", database=settings.pg_database
    )
    try:
        await conn.execute(
            f'CREATE TABLE "{schema}".copy_baseline (full_name TEXT, born TEXT, sex TEXT, citizen_id TEXT,'
            " commune_code TEXT, village TEXT, status TEXT)"
        )
        started = time.perf_counter()
        await conn.copy_records_to_table("copy_baseline", records=[tuple(r) for r in rows], schema_name=schema)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def import_file(registry: ServiceClient, content: bytes, label: str) -> tuple[float, dict[str, object]]:
    headers = registry.auth("province_officer", "24")
    started = time.perf_counter()
    files = {"file": (f"{label}.csv", content, "text/csv")}
    response = await registry.http.post(
        "/api/v1/persons/imports", files=files, data={"recorded_on": "2024-03-01"}, headers=headers
    )
    import_id = response.json()["import_id"]
    while True:
        report = (await registry.http.get(f"/api/v1/persons/imports/{import_id}", headers=headers)).json()
        done, total = int(report["processed"]), int(report["total"])
        bar = "#" * (30 * done // max(total, 1))
        print(f"\r  {label:<14} [{bar:<30}] {done:>6}/{total}", end="", flush=True)
        if report["status"] in ("done", "failed"):
            print()
            return time.perf_counter() - started, report
        await asyncio.sleep(0.5)


def line(label: str, count: int, seconds: float, base: float | None = None) -> None:
    rate = count / seconds
    ratio = "" if base is None else f"   {rate / base:6.3f}x of COPY"
    print(f"{label:<44} {count:>7} rows in {seconds:7.2f}s = {rate:>10,.0f} rows/s{ratio}")


async def main(count: int) -> None:
    rows = list(people(count))
    content = as_csv(rows)
    print(f"registry import: {count:,} rows, {len(content) / 1e6:.1f} MB CSV")
    async with fresh_schema("bench") as schema:
        baseline = await copy_baseline(schema, rows)
        topic = f"bench.{schema}.registry.events"  # its own topic: the bench must not flood the real one
        try:
            async with running_service(lambda: replace(spec(), topic=topic), "registry", schema) as registry:
                started = time.perf_counter()
                await start_processes()  # the readers the service spawns as it starts: no part of an import's time
                print(f"the service's file readers ready in {time.perf_counter() - started:.1f}s (not timed)")
                first, report = await import_file(registry, content, "first import")
                again, report2 = await import_file(registry, content, "same file")
        finally:
            await delete_topics(ServiceSettings(), [topic])
    base_rate = count / baseline
    line("plain COPY of the same rows (baseline)", count, baseline)
    line("registry import (validate, dedupe, events, outbox)", count, first, base_rate)
    line("same file again (idempotent: creates nothing)", count, again, base_rate)
    print(
        f"created {report['created']}, duplicates {report['duplicates']}, rejected {len(report['rejected'])}; "  # type: ignore[arg-type]
        f"second run created {report2['created']}"
    )
    print(f"peak RSS of the benchmark process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_ROWS))
