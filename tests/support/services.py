"""Test helpers shared by every service's tests: a service on a fresh schema, tokens, reading a topic.

They log in as the database owner and the Kafka admin, so they live with the tests, never with the code.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text

from services.topology import EVERY_TOPIC
from shared.base.settings import PlatformSettings, ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.ids import uuid7
from shared.kernel.kafka import delete_topics, make_consumer, partitions_of, read_to_end
from shared.runtime.service import ServiceSpec, create_app
from tests.support.api import Api


@dataclass
class ServiceClient(Api):
    """The tests' HTTP driver on one service's app in-process, its tokens signed with the development secret
    (tests/support/keycloak.IssuerTokens gives the identity provider's); URLs are the service's paths."""

    settings: ServiceSettings = field(default_factory=ServiceSettings)
    app: Any = None


def owner_dsn(settings: PlatformSettings) -> str:
    """The database owner's URL (tests create and drop throw-away schemas with it)."""
    return f"postgresql+asyncpg://rehab:rehab@{settings.pg_host}:{settings.pg_port}/{settings.pg_database}"


@contextlib.asynccontextmanager
async def fresh_schema(prefix: str = "t", settings: PlatformSettings | None = None) -> AsyncIterator[str]:
    """A new, empty schema (on `settings`' PostgreSQL, the platform's by default) that is dropped afterwards."""
    schema = f"{prefix}_{uuid7().hex[-12:]}"
    admin = make_engine(owner_dsn(settings or ServiceSettings()), "public", 1)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@contextlib.asynccontextmanager
async def running_service(
    spec: Callable[[], ServiceSpec], name: str, schema: str, topic_prefix: str = "rehab", **overrides: Any
) -> AsyncIterator[ServiceClient]:
    """The service's app with its lifespan (migrations, broker, relay, background jobs) on `schema`.

    A `topic_prefix` of its own gives a test topics no other test writes to; `overrides` are more settings.
    """
    settings = ServiceSettings.for_service(
        name, database_url=owner_dsn(ServiceSettings()), db_schema=schema, topic_prefix=topic_prefix, **overrides
    )
    app = create_app(spec(), settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}", timeout=60) as http:
            yield ServiceClient(http, app.state.tokens, settings, app)


async def read_topic(settings: ServiceSettings, topic: str) -> list[tuple[bytes | None, dict[str, Any]]]:
    """Every record on `topic` (a logical name, mapped with the settings' prefix) from offset 0 to its end."""
    topic = settings.topic(topic)
    consumer = make_consumer(settings, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(settings, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[tuple[bytes | None, dict[str, Any]]] = []
        async for _, messages in read_to_end(consumer, partitions, timeout_ms=1000):
            records.extend((m.key, json.loads(m.value)) for m in messages if m.value is not None)
        return records
    finally:
        await consumer.stop()


@contextlib.asynccontextmanager
async def isolated_topics(name: str = "t") -> AsyncIterator[str]:
    """A topic prefix no other test uses; its topics (and dead-letter topics) are deleted afterwards."""
    prefix = f"{name}{uuid7().hex[-10:]}"
    try:
        yield prefix
    finally:
        settings = ServiceSettings(topic_prefix=prefix)
        await delete_topics(settings, [settings.topic(t) for t in EVERY_TOPIC])
