"""Real PostgreSQL and Kafka (started by `make test`): a fresh schema and fresh topics per test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.events import Envelope
from shared.kernel.ids import uuid7
from shared.kernel.kafka import delete_topics, ensure_topics, make_broker, make_producer
from shared.kernel.migrations import migrate
from shared.kernel.relay import OutboxRelay
from shared.kernel.store_schema import KERNEL_MIGRATIONS
from shared.kernel.subscriber import Subscription, attach
from tests.support.services import owner_dsn

# A projection that remembers every event it applied, in order (a duplicate would violate the key).
APPLIED = (
    "CREATE TABLE {schema}.applied (event_id UUID PRIMARY KEY, stream_id TEXT NOT NULL, stream_version INT NOT NULL,"
    " seq BIGSERIAL)"
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


@contextlib.asynccontextmanager
async def make_stack(**platform: object) -> AsyncIterator[Stack]:
    """A fresh schema with the kernel's tables and a 6-partition topic; `platform` overrides (another Kafka)."""
    schema = f"t_{uuid7().hex[-12:]}"
    owner = owner_dsn(ServiceSettings())
    settings = ServiceSettings.for_service(schema, database_url=owner, db_schema=schema, **platform)
    admin = make_engine(owner, "public", 1)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(settings.dsn(), schema, 10)
    try:
        await migrate(engine, schema, KERNEL_MIGRATIONS)
        async with engine.begin() as conn:
            await conn.execute(text(APPLIED.format(schema=f'"{schema}"')))
        topic = f"test.{schema}.events"
        await ensure_topics(settings, [topic], partitions=6)
        yield Stack(settings, engine, schema, topic)
    finally:
        await engine.dispose()
        if not platform:  # a broker of the test's own goes with it; on the shared one, left topics pile up
            await delete_topics(settings, [topic])  # and its dead-letter topic
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with make_stack() as made:
        yield made


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
