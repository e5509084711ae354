"""`make bench`: event store append and relay throughput, each beside a raw baseline measured in the same run."""

from __future__ import annotations

import asyncio
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


class Benchmarked(Event):
    event_type = "benchmarked"
    n: int


def row(label: str, count: int, seconds: float, base: float | None = None) -> str:
    rate = count / seconds
    ratio = "" if base is None else f"   ratio {rate / base:5.2f}x of baseline"
    print(f"{label:<70} {count:>7} in {seconds:6.2f}s = {rate:>9,.0f}/s{ratio}")
    return str(rate)


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
    print(f"kernel benchmark: {total} events, {N_STREAMS} streams, {WRITERS} concurrent writers, 1 event per tx")
    try:
        raw_rate = await raw_inserts(dsn, schema, total)
        await appends(engine, topic, total, raw_rate)
        kafka_rate = await raw_producer(settings, topic, total)
        relay = OutboxRelay(engine, lambda: make_producer(settings, "bench"), schema, 1000)
        t = time.perf_counter()
        published = await relay.drain()
        row("relay: outbox -> Kafka (acks=all, idempotent, marked)", published, time.perf_counter() - t, kafka_rate)
        await relay._close_producer()
    finally:
        await engine.dispose()
        async with admin.begin() as c:
            await c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def raw_inserts(dsn: str, schema: str, total: int) -> float:
    pool = await asyncpg.create_pool(dsn.replace("+asyncpg", ""), min_size=WRITERS, max_size=WRITERS)
    await pool.execute(f'CREATE TABLE "{schema}".raw (id BIGSERIAL PRIMARY KEY, stream TEXT, v INT, body JSONB)')

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


async def appends(engine: AsyncEngine, topic: str, total: int, base: float) -> None:
    store = EventStore(topic)

    async def writer(w: int) -> None:  # what a service's command does: a unit of work from the pool, one save
        for s in range(w, N_STREAMS, WRITERS):
            for v in range(PER_STREAM):
                async with SqlUnitOfWork(engine) as uow:
                    pending = PendingEvent(event=Benchmarked(n=v), occurred_on=date(2024, 1, 1), unit_code="07616")
                    await store.append(uow.conn, f"s-{s}", v, [pending], CommandContext())
                    await uow.commit()

    t = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    row(
        "event store: append (unit of work: 1 stmt check+events+outbox, commit, wake)",
        total,
        time.perf_counter() - t,
        base,
    )

    async def held_writer(w: int) -> None:  # the append alone: no pool checkout or return per command
        async with engine.connect() as conn:
            for s in range(w, N_STREAMS, WRITERS):
                for v in range(PER_STREAM):
                    pending = PendingEvent(event=Benchmarked(n=v), occurred_on=date(2024, 1, 1), unit_code="07616")
                    async with conn.begin():
                        await store.append(conn, f"h-{s}", v, [pending], CommandContext())

    t = time.perf_counter()
    await asyncio.gather(*(held_writer(w) for w in range(WRITERS)))
    row("event store: append, held connection (BEGIN, stmt, COMMIT)", total, time.perf_counter() - t, base)

    async def batch_writer(w: int) -> None:  # a command that records several events: still one statement
        for s in range(w, N_STREAMS, WRITERS):
            async with engine.begin() as conn:
                events = [
                    PendingEvent(event=Benchmarked(n=v), occurred_on=date(2024, 1, 1), unit_code="07616")
                    for v in range(PER_STREAM)
                ]
                await store.append(conn, f"b-{s}", 0, events, CommandContext())

    t = time.perf_counter()
    await asyncio.gather(*(batch_writer(w) for w in range(WRITERS)))
    row(f"event store: append, {PER_STREAM} events per tx in 1 stmt", total, time.perf_counter() - t, base)


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
