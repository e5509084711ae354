"""Real PostgreSQL and Kafka (started by `make test`): a fresh schema and fresh topics per test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import make_engine
from shared.events import Envelope
from shared.ids import uuid7
from shared.kafka import ensure_topics, make_broker, make_producer
from shared.migrations import Migration, migrate
from shared.relay import OutboxRelay
from shared.settings import ServiceSettings
from shared.store_schema import KERNEL_MIGRATIONS
from shared.subscriber import Subscription, attach

PROJECTION = Migration(
    "test",
    1,
    "applied events",
    "CREATE TABLE applied (event_id UUID PRIMARY KEY, stream_id TEXT NOT NULL, stream_version INT NOT NULL,"
    " seq BIGSERIAL)",
)


@dataclass
class Stack:
    settings: ServiceSettings
    engine: AsyncEngine
    schema: str
    topic: str

    def relay(self) -> OutboxRelay:
        return OutboxRelay(self.engine, lambda: make_producer(self.settings, "test-relay"), self.schema, 200, 0.05)

    async def scalar(self, sql: str) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    schema = f"t_{uuid7().hex[-12:]}"
    settings = ServiceSettings.for_service(
        schema,
        database_url=f"postgresql+asyncpg://rehab:rehab@{ServiceSettings().pg_host}:{ServiceSettings().pg_port}/rehab",
        db_schema=schema,
    )
    admin = make_engine(settings.dsn(), "public", 1)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(settings.dsn(), schema, 10)
    await migrate(engine, schema, [*KERNEL_MIGRATIONS, PROJECTION])
    topic = f"test.{schema}.events"
    await ensure_topics(settings, [topic], partitions=6)
    yield Stack(settings, engine, schema, topic)
    await engine.dispose()
    async with admin.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()


async def record_applied(conn: AsyncConnection, env: Envelope) -> None:
    """A projection that remembers every event it applied, in order (a duplicate would violate the key)."""
    await conn.execute(
        text("INSERT INTO applied (event_id, stream_id, stream_version) VALUES (:e, :s, :v)"),
        {"e": env.event_id, "s": env.stream_id, "v": env.stream_version},
    )


@contextlib.asynccontextmanager
async def consuming(
    stack: Stack, handler: Callable[[AsyncConnection, Envelope], Awaitable[None]] = record_applied
) -> AsyncIterator[KafkaBroker]:
    broker = make_broker(stack.settings)
    attach(broker, stack.engine, Subscription(f"{stack.schema}-consumer", (stack.topic,), handler), 200, 2)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.2)
