"""`make bench`: the reports an official waits for at national scale, memory, freshness and rebuild (issue 20).

For each scale (REHAB_BENCH_NATIONAL, default 25000,100000,250000 people) the four services run as processes on
schemas and topics of their own and the national data set (tests/perf/national.py) goes in through their own paths.
Then, with the figures beside a baseline measured in the same run:

- every report for a commune, a province and the nation, REPEATS requests each (p50/p95/p99), beside the execution
  time PostgreSQL reports (`EXPLAIN ANALYZE`) for the very statements the report runs: the ratio is what the service
  adds (Python, JSON, XLSX, HTTP);
- the RSS of each service at rest, after the load.

At the largest scale only (the slow parts):
- command → visible in reports: enrolments sent at a steady RATE per second for FRESHNESS_SECONDS, each timed from
  the acknowledgement to the moment the reporting fact exists; RSS of each service under that load;
- the rebuild of every event: events/s beside a raw aiokafka consume of the same topics, and the reporting
  process's peak RSS during it (sampled).

Targets (issue 20): report p95 < 300 ms (commune, province), < 1 s (nation); command → report p99 < 1 s at
100 commands/s; rebuild ≥ 0.5x of the raw consume with peak RSS < 400 MiB; each service < 250 MiB under load.
The registry import against COPY is `bench_registry`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from aiokafka import TopicPartition
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.reporting import indicators
from services.reporting.facts import current
from services.reporting.hierarchy import hierarchy_of
from services.reporting.periods import parse_period
from services.reporting.reports import Reports
from services.topology import ALL_TOPICS
from shared.kernel.db import Row, fetch, make_engine, positional
from shared.kernel.kafka import make_admin, make_consumer
from shared.vn.units import NATIONAL, admin_units
from tests.harness import NAMES, System
from tests.perf.national import TODAY, Person, append_lives, import_people, issue_plans, match_ids, people_of, summary
from tests.support.api import token
from tests.support.services import owner_dsn

SCALES = [int(s) for s in os.environ.get("REHAB_BENCH_NATIONAL", "25000,100000,250000").split(",") if s]
REPEATS = int(os.environ.get("REHAB_BENCH_REPORT_REPEATS", "50"))
RATE = int(os.environ.get("REHAB_BENCH_RATE", "100"))
FRESHNESS_SECONDS = int(os.environ.get("REHAB_BENCH_FRESHNESS_SECONDS", "300"))
SEED = 2026
PERIOD, YEAR = "2026-H1", 2026
TARGET_MS = {"commune": 300.0, "province": 300.0, "nation": 1000.0}
MIB = 1024 * 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, every core together."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), sum(values) / os.sysconf("SC_CLK_TCK")


def cpu_line(system: System, before: dict[str, float], seconds: float) -> None:
    """Each service's share of a core over `seconds`, and the whole machine's busy share, since `before`."""
    now = cpu_now(system)
    parts = [f"{name} {100 * (now[name] - before[name]) / seconds:3.0f}%" for name in NAMES if name in before]
    machine = 100 * (now["busy"] - before["busy"]) / max(now["total"] - before["total"], 1e-9)
    print(f"  CPU under load       {', '.join(parts)} of a core; the machine {machine:.0f}% busy (all cores)")


def cpu_now(system: System) -> dict[str, float]:
    busy, total = machine_busy()
    processes = {name: system[name].process for name in NAMES}
    found = {name: cpu_seconds(p.pid) for name, p in processes.items() if p is not None}
    return {**found, "busy": busy, "total": total}


def rss_line(system: System, label: str, peaks: dict[str, float] | None = None) -> None:
    parts = []
    for name in ("registry", "cases", "quotas", "reporting"):
        process = system[name].process
        assert process is not None
        now = memory(process.pid)["VmRSS"]
        peak = (peaks or {}).get(name)
        parts.append(f"{name} {now:5.0f}" + (f" (peak {peak:5.0f})" if peak else ""))
    print(f"  RSS MiB {label:<12} " + ", ".join(parts))


async def caught_up(system: System, timeout: float = 3600) -> float:
    """Wait until reporting has applied every event of the three stores; returns seconds waited."""
    started = time.perf_counter()
    stored = sum([await system.scalar(n, "SELECT count(*) FROM events") for n in ("registry", "cases", "quotas")])
    last = -1
    while time.perf_counter() - started < timeout:
        generation = await system.scalar("reporting", "SELECT current FROM generation WHERE id = 1")
        applied = await system.scalar("reporting", f"SELECT coalesce(sum(events), 0) FROM g{generation}_topics")
        if applied >= stored:
            print()
            return time.perf_counter() - started
        if applied != last:
            filled = 30 * applied // max(stored, 1)
            print(f"\r  reporting folds [{'#' * filled:<30}] {applied:>8}/{stored}", end="", flush=True)
            last = applied
        await asyncio.sleep(1)
    raise AssertionError(f"reporting did not catch up in {timeout} s")


class Statements:
    """The SQL a report runs, caught as the driver receives it, to ask PostgreSQL how long each took: through
    SQLAlchemy, and the figures' own reads straight on asyncpg (`fetch`, caught in this process's reports)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.caught: list[tuple[str, Any]] = []
        self.on = False
        event.listen(engine.sync_engine, "before_cursor_execute", self._catch)
        indicators.fetch = self._fetch  # type: ignore[attr-defined]  # the module reads it by this name

    def _catch(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.on and not statement.lstrip().upper().startswith(("SET ", "SELECT PG_ADVISORY", "EXPLAIN")):
            self.caught.append((statement, parameters))

    async def _fetch(self, conn: AsyncConnection, sql: str, params: Mapping[str, Any]) -> list[Row]:
        if self.on:
            query, names = positional(sql)
            self.caught.append((query, tuple(params[n] for n in names)))
        return await fetch(conn, sql, params)


async def database_ms(engine: AsyncEngine, statements: Statements, run: Callable[[Reports], Awaitable[Any]]) -> float:
    """PostgreSQL's execution time of the statements `run` makes, as EXPLAIN ANALYZE reports it (ms)."""
    async with engine.connect() as conn:
        await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        reports = Reports(conn, await current(conn), admin_units())
        statements.caught, statements.on = [], True
        try:
            await run(reports)
        finally:
            statements.on = False
        total = 0.0
        for statement, parameters in statements.caught:
            plan = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)).scalar()
            total += float(plan[0]["Execution Time"])  # type: ignore[index]
        await conn.rollback()
    return total


def report_calls(unit: str) -> list[tuple[str, str, dict[str, str], Callable[[Reports], Awaitable[Any]]]]:
    """(report, path, query, the same report in process) for `unit`."""
    span = parse_period(PERIOD)
    today = TODAY.isoformat()
    return [
        ("indicators", "/reports/indicators", {"period": PERIOD}, lambda r: r.indicators(unit, span)),
        ("post-rehab coverage", "/reports/post-rehab-coverage", {"period": PERIOD}, lambda r: r.coverage(unit, span)),
        (
            "quota progress",
            "/reports/quota-progress",
            {"year": str(YEAR)},
            lambda r: r.quota_progress(YEAR, unit, hierarchy_of(date(YEAR, 1, 1), date(YEAR, 12, 31))),
        ),
        ("outstanding", "/reports/outstanding", {"as_of": today}, lambda r: r.outstanding(unit, TODAY)),
        ("periodic (JSON)", "/reports/periodic", {"period": PERIOD}, lambda r: r.periodic(unit, span)),
        (
            "periodic (XLSX)",
            "/reports/periodic",
            {"period": PERIOD, "format": "xlsx"},
            lambda r: r.periodic(unit, span),
        ),
    ]


async def latencies(system: System, people: list[Person]) -> dict[tuple[str, str], float]:
    """Every report for the busiest commune, the busiest province and the nation; returns p95 per (level, report)."""
    units = admin_units()
    by_commune: dict[str, int] = {}
    by_province: dict[str, int] = {}
    for p in people:
        now = units.unit_now_or_code(p.commune, p.registered_on)
        by_commune[now] = by_commune.get(now, 0) + 1
        by_province[p.province] = by_province.get(p.province, 0) + 1
    commune, province = max(by_commune, key=by_commune.__getitem__), max(by_province, key=by_province.__getitem__)
    levels = [
        ("commune", commune, by_commune[commune], token("commune_officer", commune)),
        ("province", province, by_province[province], token("province_officer", province)),
        ("nation", NATIONAL, len(people), token("auditor", NATIONAL)),
    ]
    engine = make_engine(owner_dsn(system.settings), system.schemas["reporting"], 1)
    statements = Statements(engine)
    p95s = {}
    print(f"  {'report':<34} {'p50':>8} {'p95':>8} {'p99':>8}   {'SQL (EXPLAIN ANALYZE)':>22}   ratio")
    try:
        async with httpx.AsyncClient(base_url=system["reporting"].url + "/api/v1", timeout=120) as http:
            for level, unit, count, headers in levels:
                print(f"  {level} {unit} ({count} people on record)")
                for name, path, query, in_process in report_calls(unit):
                    params = {**query, "unit_code": unit}

                    async def call(
                        path: str = path, params: dict[str, str] = params, headers: dict[str, str] = headers
                    ) -> None:
                        answer = await http.get(path, params=params, headers=headers)
                        assert answer.status_code == 200, (path, params, answer.status_code, answer.text[:300])

                    await call()  # warm
                    spent = []
                    for _ in range(REPEATS):
                        started = time.perf_counter()
                        await call()
                        spent.append((time.perf_counter() - started) * 1000)
                    base = statistics.median([await database_ms(engine, statements, in_process) for _ in range(3)])
                    p50, p95, p99 = statistics.median(spent), percentile(spent, 0.95), percentile(spent, 0.99)
                    mark = "ok" if p95 < TARGET_MS[level] else "OVER"
                    print(
                        f"    {name:<32} {p50:6.0f}ms {p95:6.0f}ms {p99:6.0f}ms   {base:18.0f} ms"
                        f"   {p50 / max(base, 0.1):5.1f}x  {mark}"
                    )
                    p95s[(level, name)] = p95
    finally:
        await engine.dispose()
    return p95s


async def freshness(system: System, people: list[Person]) -> dict[str, float]:
    """Enrolments at RATE/s for FRESHNESS_SECONDS; acknowledgement → reporting fact, p50/p99; peak RSS sampled."""
    candidates = [p for p in people if p.person_id][::-1]  # the latest registered: most have no open case
    engine = make_engine(owner_dsn(system.settings), system.schemas["reporting"], 1)
    open_states = "('active','absconded','completed','post_rehab')"
    busy = {r[0] for r in await system.rows("cases", f"SELECT person_id::text FROM cases WHERE state IN {open_states}")}
    candidates = [p for p in candidates if p.person_id not in busy]
    total = min(RATE * FRESHNESS_SECONDS, len(candidates))
    acked: dict[str, float] = {}
    seen: dict[str, float] = {}
    peaks: dict[str, float] = {}
    refused = unanswered = 0
    answered: list[float] = []  # ms from sending an enrolment to its acknowledgement
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set() or len(seen) < len(acked):
            pending = [c for c in acked if c not in seen]
            if pending:
                async with engine.connect() as conn:
                    g = int(await conn.scalar(text("SELECT current FROM generation WHERE id = 1")) or 0)
                    rows = await conn.execute(
                        text(f"SELECT case_id FROM g{g}_cases WHERE case_id = ANY(:ids)"), {"ids": pending}
                    )
                    now = time.perf_counter()
                    for (case_id,) in rows:
                        seen[case_id] = now
            for name in system.services:
                process = system[name].process
                assert process is not None
                with contextlib.suppress(FileNotFoundError):  # a service gone: the run is ending
                    peaks[name] = max(peaks.get(name, 0.0), memory(process.pid)["VmRSS"])
            if done.is_set() and time.perf_counter() - last_ack > 30:
                break
            await asyncio.sleep(0.02)

    last_ack = time.perf_counter()
    watcher = asyncio.create_task(watch())
    started, cpu_before = time.perf_counter(), cpu_now(system)

    @functools.cache
    def signed_in(province: str) -> dict[str, str]:
        """Each province's officer signs in once and keeps the token, as a browser does (a signature is 2 ms)."""
        return token("province_officer", province)

    async with httpx.AsyncClient(base_url=system["cases"].url + "/api/v1", timeout=30) as http:

        async def enrol(p: Person) -> None:
            nonlocal refused, unanswered, last_ack
            body = {
                "person_id": p.person_id,
                "modality": "methadone",
                "decision_number": "1/QĐ-BENCH",
                "decided_on": TODAY.isoformat(),
                "started_on": TODAY.isoformat(),
            }
            asked = time.perf_counter()
            try:
                answer = await http.post("/cases", json=body, headers=signed_in(p.province))
            except httpx.TransportError:  # a keep-alive connection the server closed as it was reused: not timed
                unanswered += 1
                return
            if answer.status_code == 201:
                acked[answer.json()["case_id"]] = last_ack = time.perf_counter()
                answered.append((last_ack - asked) * 1000)
            else:
                refused += 1

        sent: list[asyncio.Task[None]] = []
        for n in range(total):
            due = started + n / RATE
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            sent.append(asyncio.create_task(enrol(candidates[n])))
            if n % RATE == 0:
                print(f"\r  enrolments {n:>6}/{total}, visible {len(seen):>6}", end="", flush=True)
        await asyncio.gather(*sent)
    sending = time.perf_counter() - started
    cpu_line(system, cpu_before, sending)
    done.set()
    await watcher
    await engine.dispose()
    print()
    relayed = await relay_delays(system, list(acked))
    delays = [(seen[c] - t) * 1000 for c, t in acked.items() if c in seen]
    result = {
        "sent": total,
        "rate": total / sending,
        "acked": len(acked),
        "refused": refused,
        "unanswered": unanswered,
        "visible": len(delays),
        "p50": statistics.median(delays) if delays else float("nan"),
        "p99": percentile(delays, 0.99) if delays else float("nan"),
    }
    mark = "ok" if result["p99"] < 1000 else "OVER"
    print(
        f"  command → report: {total} enrolments at {result['rate']:.0f}/s over {sending:.0f} s; "
        f"{len(acked)} acknowledged, {refused} refused, {unanswered} unanswered, {len(delays)} visible; "
        f"p50 {result['p50']:.0f} ms, p99 {result['p99']:.0f} ms {mark}"
    )
    if answered:
        print(
            f"  the cases service answered in p50 {statistics.median(answered):.0f} ms,"
            f" p99 {percentile(answered, 0.99):.0f} ms"
        )
    if relayed:
        print(
            f"  of which commit → published by the cases relay: p50 {statistics.median(relayed):.0f} ms,"
            f" p99 {percentile(relayed, 0.99):.0f} ms (the rest: Kafka and the reporting consumer)"
        )
    rss_line(system, "under load", peaks)
    return result


async def relay_delays(system: System, case_ids: list[str]) -> list[float]:
    """For each enrolment: from its outbox row's creation (the command's transaction) to its publication, in ms."""
    rows = await system.rows(
        "cases",
        "SELECT EXTRACT(EPOCH FROM published_at - created_at) * 1000 FROM outbox"
        " WHERE key = ANY(:ids) AND published_at IS NOT NULL",
        ids=case_ids,
    )
    return [float(r[0]) for r in rows]


async def raw_consume(system: System) -> tuple[int, float]:
    """Every record of the three record topics read with a plain aiokafka consumer: (records, seconds)."""
    settings = system.settings
    consumer = make_consumer(
        settings, enable_auto_commit=False, max_partition_fetch_bytes=8 * MIB, fetch_max_bytes=64 * MIB
    )
    await consumer.start()
    try:
        admin = make_admin(settings)
        await admin.start()
        try:
            described = await admin.describe_topics([settings.topic(t) for t in ALL_TOPICS])
        finally:
            await admin.close()
        partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        started, count = time.perf_counter(), 0
        left = {tp for tp in partitions if ends[tp] > 0}
        while left:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for tp, records in batch.items():
                count += len(records)
                if records and records[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
        return count, time.perf_counter() - started
    finally:
        await consumer.stop()


async def rebuild(system: System) -> None:
    """POST /projections/rebuild and wait: events/s, beside the raw consume; reporting's peak RSS, sampled."""
    count, raw_seconds = await raw_consume(system)
    process = system["reporting"].process
    assert process is not None
    ops = token("ops", NATIONAL)
    async with httpx.AsyncClient(base_url=system["reporting"].url + "/api/v1", timeout=60) as http:
        before = memory(process.pid)["VmRSS"]
        started = time.perf_counter()
        answer = await http.post("/projections/rebuild", headers=ops)
        assert answer.status_code == 202, answer.text
        peak = before
        while True:
            peak = max(peak, memory(process.pid)["VmRSS"])
            status = (await http.get("/projections/status", headers=ops)).json()
            progress = status.get("rebuild_progress") or {}
            print(f"\r  rebuild: {progress.get('applied', 0):>8}/{count} events", end="", flush=True)
            if status["state"] != "rebuilding" and status["generation"] == answer.json()["generation"]:
                break
            await asyncio.sleep(0.1)
        seconds = time.perf_counter() - started
    print()
    raw_rate, rate = count / raw_seconds, count / seconds
    verdict = "ok" if rate >= 0.5 * raw_rate and peak < 400 else "NOT met"
    print(
        f"  rebuild of {count} events: {rate:,.0f} events/s; raw aiokafka consume {raw_rate:,.0f}/s;"
        f" {rate / raw_rate:.2f}x; reporting RSS {before:.0f} MiB before, peak {peak:.0f} MiB ({verdict})"
    )


async def one_scale(count: int, largest: bool) -> None:
    print(f"\n== {count:,} people ==")
    people = people_of(count, SEED)
    for line in summary(people):
        print("  " + line)
    logs = Path(tempfile.mkdtemp(prefix="bench-national-"))
    async with System("bn", logs) as system:
        seconds = await import_people(system, people)
        print(f"  registry import: {count} rows in {seconds:.0f} s ({count / seconds:,.0f} rows/s)")
        await match_ids(system, people)
        started = time.perf_counter()
        plans = await issue_plans(system, admin_units())
        print(f"  plans: {plans} issued in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        events, refused = await append_lives(system, people, SEED)
        print(
            f"  cases: {events} events appended in {time.perf_counter() - started:.0f} s"
            f" ({refused} lives stopped by a refusal of the domain)"
        )
        waited = await caught_up(system)
        stored = sum([await system.scalar(n, "SELECT count(*) FROM events") for n in ("registry", "cases", "quotas")])
        print(f"  {stored:,} events in the stores; reporting caught up {waited:.0f} s after the last append")
        rss_line(system, "at rest")
        await latencies(system, people)
        if largest:
            await freshness(system, people)
            await rebuild(system)
            rss_line(system, "after")


async def main() -> None:
    print(f"national scale (issue 20): {', '.join(f'{s:,}' for s in SCALES)} people; {REPEATS} requests per report")
    for n, count in enumerate(SCALES):
        await one_scale(count, n == len(SCALES) - 1)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped: the services and schemas go too
    asyncio.run(main())
