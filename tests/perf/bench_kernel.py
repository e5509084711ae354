"""`make bench`: event store append and relay throughput, each beside a raw baseline measured in the same run."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import date

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.events import CommandContext, Event, PendingEvent
from shared.kernel.eventstore import EventStore
from shared.kernel.ids import uuid7
from shared.kernel.kafka import ensure_topics, make_producer
from shared.kernel.migrations import migrate
from shared.kernel.relay import OutboxRelay
from shared.kernel.store_schema import KERNEL_MIGRATIONS
from shared.kernel.uow import SqlUnitOfWork

N_STREAMS, PER_STREAM, WRITERS = 2000, 5, 8
RELAYED = 30_000  # rows per relay round: at 10,000 the producer's first round trips weighed on a 0.2 s baseline


class Benchmarked(Event):
    event_type = "benchmarked"
    n: int


def row(label: str, count: int, seconds: float, base: float | None = None) -> str:
    rate = count / seconds
    ratio = "" if base is None else f"   ratio {rate / base:5.2f}x of baseline"
    print(f"{label:<70} {count:>7} in {seconds:6.2f}s = {rate:>9,.0f}/s{ratio}")
    return str(rate)


ROUNDS = 5  # each figure is measured this many times beside its baseline; the median ratio is the result


async def main() -> None:
    base = ServiceSettings()
    dsn = f"postgresql+asyncpg://rehab:rehab@{base.pg_host}:{base.pg_port}/rehab"
    schema = f"bench_{uuid7().hex[-8:]}"
    settings = ServiceSettings.for_service(schema, database_url=dsn, db_schema=schema)
    admin = make_engine(dsn, "public", 1)
    async with admin.begin() as c:
        await c.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(dsn, schema, WRITERS)
    await migrate(engine, schema, KERNEL_MIGRATIONS)
    topic = f"bench.{schema}"
    await ensure_topics(settings, [topic])
    total = N_STREAMS * PER_STREAM
    print(f"kernel benchmark: {total} events, {N_STREAMS} streams, {WRITERS} concurrent writers, 1 event per tx;")
    print(f"each pair measured {ROUNDS} times, alternately, so a busy moment of the machine hits both sides")
    try:
        append_ratios, relay_ratios = [], []
        for r in range(ROUNDS):
            raw_rate = await raw_inserts(dsn, schema, total)
            append_ratios.append(await appends(engine, topic, total, raw_rate, f"r{r}") / raw_rate)
        await variants(engine, topic, total, raw_rate)
        relay = OutboxRelay(engine, lambda: make_producer(settings, "bench"), schema, 1000)
        await relay.drain()  # what the appends above left: the rounds below start from an empty outbox
        for r in range(ROUNDS):
            await fill(engine, topic, RELAYED, f"relay{r}")
            kafka_rate = await raw_producer(settings, topic, RELAYED)
            t = time.perf_counter()
            published = await relay.drain()
            rate = float(
                row(
                    "relay: outbox -> Kafka (acks=all, idempotent, marked)",
                    published,
                    time.perf_counter() - t,
                    kafka_rate,
                )
            )
            relay_ratios.append(rate / kafka_rate)
        await relay._close_producer()
        print(
            f"median over {ROUNDS} rounds: append {statistics.median(append_ratios):.2f}x of the raw INSERT "
            f"(target 0.5x), relay {statistics.median(relay_ratios):.2f}x of the raw producer (target 0.7x)"
        )
    finally:
        await engine.dispose()
        async with admin.begin() as c:
            await c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def raw_inserts(dsn: str, schema: str, total: int) -> float:
    pool = await asyncpg.create_pool(dsn.replace("+asyncpg", ""), min_size=WRITERS, max_size=WRITERS)
    table = f'"{schema}".raw'
    await pool.execute(f"CREATE TABLE IF NOT EXISTS {table} (id BIGSERIAL PRIMARY KEY, stream TEXT, v INT, body JSONB)")

    async def writer(w: int) -> None:
        for i in range(w, total, WRITERS):
            await pool.execute(
                f'INSERT INTO "{schema}".raw (stream, v, body) VALUES ($1, $2, $3)', f"s-{i % N_STREAMS}", i, '{"n": 1}'
            )

    t = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    rate = float(row("baseline: raw asyncpg INSERT, 1 row per tx", total, time.perf_counter() - t))
    await pool.close()
    return rate


def pending(n: int) -> PendingEvent:
    return PendingEvent(event=Benchmarked(n=n), occurred_on=date(2024, 1, 1), unit_code="07616")


async def appends(engine: AsyncEngine, topic: str, total: int, base: float, tag: str) -> float:
    """What a service's command does: a unit of work from the pool, one append, the commit (which sends it)."""
    store = EventStore(topic)

    async def writer(w: int) -> None:
        for s in range(w, N_STREAMS, WRITERS):
            for v in range(PER_STREAM):
                async with SqlUnitOfWork(engine) as uow:
                    await store.append(uow.conn, f"{tag}-{s}", v, [pending(v)], CommandContext())
                    await uow.commit()

    t = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    return float(
        row(
            "event store: append (unit of work: the lone append goes with its commit)",
            total,
            time.perf_counter() - t,
            base,
        )
    )


async def variants(engine: AsyncEngine, topic: str, total: int, base: float) -> None:
    """The append inside a transaction begun by the caller, and several events in one append (once each)."""
    store = EventStore(topic)

    async def held_writer(w: int) -> None:  # the append inside an open transaction: BEGIN, statement, COMMIT
        async with engine.connect() as conn:
            for s in range(w, N_STREAMS, WRITERS):
                for v in range(PER_STREAM):
                    async with conn.begin():
                        await store.append(conn, f"h-{s}", v, [pending(v)], CommandContext())

    t = time.perf_counter()
    await asyncio.gather(*(held_writer(w) for w in range(WRITERS)))
    row("event store: append, held connection (BEGIN, stmt, COMMIT)", total, time.perf_counter() - t, base)
    t = time.perf_counter()
    await fill(engine, topic, total, "b")
    row(f"event store: append, {PER_STREAM} events per tx in 1 stmt", total, time.perf_counter() - t, base)


async def fill(engine: AsyncEngine, topic: str, total: int, tag: str) -> None:
    """`total` events in appends of PER_STREAM (a command that records several events: still one statement)."""
    store = EventStore(topic)

    async def batch_writer(w: int) -> None:
        for s in range(w, total // PER_STREAM, WRITERS):
            async with engine.begin() as conn:
                await store.append(conn, f"{tag}-{s}", 0, [pending(v) for v in range(PER_STREAM)], CommandContext())

    await asyncio.gather(*(batch_writer(w) for w in range(WRITERS)))


async def raw_producer(settings: ServiceSettings, topic: str, total: int) -> float:
    producer = make_producer(settings, "bench-raw")
    await producer.start()
    value = b'{"event_type": "benchmarked", "payload": {"n": 1}}' * 8
    t = time.perf_counter()
    futures = [await producer.send(topic, value, key=f"s-{i % N_STREAMS}".encode()) for i in range(total)]
    await asyncio.gather(*futures)
    rate = float(row("baseline: raw aiokafka producer (acks=all, idempotent)", total, time.perf_counter() - t))
    await producer.stop()
    return rate


if __name__ == "__main__":
    asyncio.run(main())
