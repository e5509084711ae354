"""`make bench`: rebuilding the reporting projections from 1,000,000 events, beside a raw aiokafka consume.

`python -m tests.perf.bench_reporting [events] [rounds]`; the rebuild runs in a process of its own each round.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from sqlalchemy import text

from services.reporting.facts import MIGRATIONS, create_generation
from services.reporting.rebuild import Rebuild
from services.topology import ALL_TOPICS
from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.ids import uuid7
from shared.kernel.kafka import delete_topics, ensure_topics, make_consumer, make_producer
from shared.kernel.migrations import migrate
from shared.kernel.store_schema import KERNEL_MIGRATIONS
from tests.support.services import fresh_schema, owner_dsn

DEFAULT_EVENTS = 1_000_000
COMMUNES = ["07615", "07616", "07621", "07624", "07627", "07630", "07636", "07648", "07654", "07660", "07666"]
ACTOR = {"sub": "bench", "role": "district_officer", "unit": "220"}


def envelope(kind: str, stream: str, version: int, on: date, unit: str, payload: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "event_id": str(uuid7()),
            "event_type": kind,
            "schema_version": 1,
            "stream_id": stream,
            "stream_version": version,
            "occurred_on": on.isoformat(),
            "recorded_at": datetime.now(UTC).isoformat(),
            "actor": ACTOR,
            "unit_code": unit,
            "correlation_id": "bench",
            "causation_id": None,
            "payload": payload,
        }
    ).encode()


def lives(count: int, seed: int = 3) -> Any:
    """(topic, key, value) for `count` events: people registered and determined, then their cases."""
    rng, made = random.Random(seed), 0
    while made < count:
        person, unit = str(uuid7()), rng.choice(COMMUNES)
        day = date(2023, 1, 1) + timedelta(days=rng.randint(0, 600))
        events = [
            (
                "registry",
                person,
                envelope(
                    "person_registered",
                    person,
                    1,
                    day,
                    unit,
                    {
                        "commune_code": unit,
                        "status": "user",
                        "source": "police_review",
                        "sex": "male",
                        "birth_year": rng.randint(1960, 2005),
                    },
                ),
            ),
            (
                "registry",
                person,
                envelope(
                    "addiction_determined",
                    person,
                    2,
                    day,
                    unit,
                    {"result": "addicted", "facility": "TTYT", "form_number": "1", "status": "addict"},
                ),
            ),
        ]
        case = str(uuid7())
        start = day + timedelta(days=10)
        events += [
            (
                "cases",
                case,
                envelope(
                    "case_enrolled",
                    case,
                    1,
                    start,
                    unit,
                    {
                        "person_id": person,
                        "modality": rng.choice(["compulsory", "voluntary_community", "methadone"]),
                        "decision_number": "QĐ",
                        "decided_on": start.isoformat(),
                        "started_on": start.isoformat(),
                        "planned_months": 12,
                        "facility": None,
                        "court_decision_number": "TA",
                        "sex": "male",
                        "birth_year": 1990,
                    },
                ),
            ),
            (
                "cases",
                case,
                envelope(
                    "case_completed",
                    case,
                    2,
                    start + timedelta(days=370),
                    unit,
                    {"certificate_number": "G", "served_days": 370},
                ),
            ),
            (
                "cases",
                case,
                envelope(
                    "post_rehab_started",
                    case,
                    3,
                    start + timedelta(days=375),
                    unit,
                    {
                        "decision_number": "Q",
                        "decided_on": (start + timedelta(days=375)).isoformat(),
                        "starts_on": (start + timedelta(days=375)).isoformat(),
                        "months": 12,
                        "ends_on": (start + timedelta(days=740)).isoformat(),
                        "mentor": "M",
                        "days_waited": 5,
                    },
                ),
            ),
        ]
        yield from events[: count - made]
        made += len(events)


async def produce(settings: ServiceSettings, count: int) -> None:
    producer = make_producer(
        settings, "bench-produce", linger_ms=20, max_batch_size=1 << 20, acks=1, enable_idempotence=False
    )
    await producer.start()
    try:
        pending = []
        for n, (source, key, value) in enumerate(lives(count)):
            pending.append(await producer.send(settings.topic(f"rehab.{source}.events"), value, key=key.encode()))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
                print(f"\r  producing {n + 1:>9,}/{count:,}", end="", flush=True)
        await asyncio.gather(*pending)
        print()
    finally:
        await producer.stop()


async def raw_consume(settings: ServiceSettings) -> tuple[int, float]:
    consumer = make_consumer(
        settings,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 << 20,
        fetch_max_bytes=64 << 20,
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(settings.topic(t), p) for t in ALL_TOPICS for p in range(settings.topic_partitions)
        ]
        consumer.assign(partitions)
        started = time.perf_counter()
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        seen, pending = 0, {tp for tp in partitions if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=500, max_records=20_000)
            seen += sum(len(m) for m in batch.values())
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return seen, time.perf_counter() - started
    finally:
        await consumer.stop()


async def rebuild_once(prefix: str) -> dict[str, Any]:
    """One rebuild of the topics of `prefix` into a fresh schema; run in a process of its own (`--rebuild`), so
    the peak RSS it reports is the rebuild's alone (ru_maxrss is per process and never goes down)."""
    settings = ServiceSettings.for_service("reporting", topic_prefix=prefix)
    topics = tuple(settings.topic(t) for t in ALL_TOPICS)
    async with fresh_schema("bench") as schema:
        engine = make_engine(owner_dsn(settings), schema, 4)
        await migrate(engine, schema, [*KERNEL_MIGRATIONS, *MIGRATIONS])
        async with engine.begin() as conn:
            await create_generation(conn, 0)
        rebuild = Rebuild(engine, settings, topics)
        sampler = asyncio.create_task(sample_rss(peaks := {"total": 0.0, "workers": 0.0}))
        started, cpu = time.perf_counter(), time.process_time()
        await rebuild.start()
        replayed = None  # the swap waits for the lock's shared holders, other schemas' too on a shared database
        while rebuild.running:
            if replayed is None and rebuild.progress["state"] == "swapping":
                replayed = time.perf_counter() - started
            await asyncio.sleep(0.02)
        await rebuild.wait()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        sampler.cancel()
        workers = resource.getrusage(resource.RUSAGE_CHILDREN)
        async with engine.connect() as conn:
            generation = await conn.scalar(text("SELECT current FROM generation"))
            persons = await conn.scalar(text(f"SELECT count(*) FROM g{generation}_persons"))
        await engine.dispose()
    return {
        "applied": rebuild.progress["applied"],
        "seconds": seconds,
        "replayed_seconds": replayed,
        "cpu_seconds": cpu,  # this process's own: a shared machine's load stretches `seconds`, much less this
        "worker_cpu_seconds": workers.ru_utime + workers.ru_stime,  # its worker's, when a long replay starts one
        "state": rebuild.progress["state"],
        "generation": generation,
        "persons": persons,
        # VmHWM, not ru_maxrss: that one starts from the RSS of the parent that forked this process (the raw
        # consume's, 250 MiB and more), which it keeps across exec
        "rss_mib": rss(os.getpid())["VmHWM"],
        "worker_rss_mib": peaks["workers"],  # the rebuild's worker process, when a long replay starts one (sampled)
        "total_rss_mib": peaks["total"],  # this process and its worker together (sampled)
    }


def rss(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MiB; none of a process that is gone."""
    fields = {"VmRSS": 0.0, "VmHWM": 0.0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in fields:
                fields[name] = int(value.split()[0]) / 1024
    return fields


def children(pid: int) -> list[int]:
    return [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]


async def sample_rss(peaks: dict[str, float]) -> None:
    """The peak RSS of this process's children, and of this process and them together, every 20 ms."""
    me = os.getpid()
    while True:
        workers = sum(rss(c)["VmRSS"] for c in children(me))
        peaks["workers"] = max(peaks["workers"], workers)
        peaks["total"] = max(peaks["total"], rss(me)["VmRSS"] + workers)
        await asyncio.sleep(0.02)


async def rebuild_in_child(prefix: str) -> dict[str, Any]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.perf.bench_reporting", "--rebuild", prefix, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the rebuild process exited with {child.returncode}")
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def main(count: int, rounds: int) -> None:
    """Raw consume and rebuild alternate for `rounds` rounds (the machine is shared: medians of the same run)."""
    prefix = f"bench{uuid7().hex[-8:]}"
    settings = ServiceSettings.for_service("reporting", topic_prefix=prefix)
    topics = [settings.topic(t) for t in ALL_TOPICS]
    await ensure_topics(settings, topics)
    try:
        print(f"reporting rebuild: {count:,} events on {', '.join(topics)}, {rounds} round(s)")
        await produce(settings, count)
        raws, rebuilds = [], []
        for n in range(rounds):
            cpu = time.process_time()
            seen, raw_seconds = await raw_consume(settings)
            raws.append(seen / raw_seconds)
            raw_cpu = time.process_time() - cpu
            got = await rebuild_in_child(prefix)
            rebuilds.append(got)
            rate = got["applied"] / got["seconds"]
            print(
                f"  round {n + 1}: raw {raws[-1]:>9,.0f}/s, rebuild {got['applied']:,} events in {got['seconds']:.2f}s"
                f" = {rate:>9,.0f}/s ({rate / raws[-1]:.2f}x; replay alone {got['replayed_seconds']}s,"
                f" CPU {got['cpu_seconds']:.1f}s + its worker's {got['worker_cpu_seconds']:.1f}s against the raw"
                f" consume's {raw_cpu:.1f}s),"
                f" peak RSS {got['rss_mib']:.0f} MiB (its worker's {got['worker_rss_mib']:.0f} MiB, together"
                f" {got['total_rss_mib']:.0f} MiB),"
                f" {got['state']}, {got['persons']:,} persons"
            )
        raw_rate = statistics.median(raws)
        rate = statistics.median(r["applied"] / r["seconds"] for r in rebuilds)
        print(f"raw aiokafka consume (baseline, median)  {seen:>9,} events = {raw_rate:>9,.0f}/s")
        print(
            f"rebuild (fold, COPY, swap; median)       {rebuilds[-1]['applied']:>9,} events = {rate:>9,.0f}/s"
            f"   {rate / raw_rate:5.2f}x of baseline"
        )
        print(
            f"rebuild process peak RSS (max of rounds) {max(r['rss_mib'] for r in rebuilds):.0f} MiB,"
            f" its worker's {max(r['worker_rss_mib'] for r in rebuilds):.0f} MiB,"
            f" both together {max(r['total_rss_mib'] for r in rebuilds):.0f} MiB"
        )
    finally:
        await delete_topics(settings, topics)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rebuild"]:
        print(json.dumps(asyncio.run(rebuild_once(sys.argv[2])), default=str))
    else:
        asyncio.run(
            main(
                int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_EVENTS,
                int(sys.argv[2]) if len(sys.argv) > 2 else 1,
            )
        )
