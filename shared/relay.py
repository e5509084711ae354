"""Outbox relay: publishes committed events to Kafka in order, marks them, survives Kafka outages.

One relay is active per service: it holds a PostgreSQL advisory lock on a dedicated connection, so a second
process waits as a standby and takes over when the first one dies (its connection, and so its lock, goes).
A crash between publishing and marking republishes the batch: consumers drop the duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.logs import one_line
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED, PUBLISH_LATENCY, RELAY_ERRORS, RELAY_LEADER
from shared.migrations import lock_key
from shared.store_schema import outbox

log = logging.getLogger("rehab.relay")

ProducerFactory = Callable[[], AIOKafkaProducer]


class OutboxRelay:
    """Moves outbox rows to Kafka; run() loops until stopped, publish_batch() does one step."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer_factory: ProducerFactory,
        service: str,
        batch_size: int = 500,
        idle_seconds: float = 0.1,
        max_backoff: float = 5.0,
        topic_of: Callable[[str], str] = str,
    ) -> None:
        self.engine, self.producer_factory, self.service = engine, producer_factory, service
        self.topic_of = topic_of  # the outbox stores logical topic names; a deployment may prefix them
        self.batch_size, self.idle_seconds, self.max_backoff = batch_size, idle_seconds, max_backoff
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.is_leader = False

    def wake(self) -> None:
        """Tell the relay new rows were committed, so it does not wait for its next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Hold leadership and publish until stop(); every failure is retried with backoff."""
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                async with self.engine.connect() as lock_conn:
                    if not await self._acquire(lock_conn):
                        await self._sleep(2.0)
                        continue
                    log.info("outbox relay is the leader", extra={"service": self.service})
                    await self._lead(lock_conn)
                    backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                RELAY_ERRORS.labels(self.service).inc()
                log.warning("outbox relay: %s; retrying in %.1fs", one_line(exc), backoff)
                await self._close_producer()
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                self._set_leader(False)
        await self._close_producer()

    async def _lead(self, lock_conn: AsyncConnection) -> None:
        last_check = time.monotonic()
        while not self._stopping.is_set():
            published = await self.publish_batch()
            if published >= self.batch_size:
                continue
            if time.monotonic() - last_check > 5:  # is the lock's connection still alive?
                await lock_conn.execute(text("SELECT 1"))
                last_check = time.monotonic()
            await self._sleep(self.idle_seconds)

    async def publish_batch(self) -> int:
        """Publish up to batch_size pending rows in id order, then mark them; returns how many."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        outbox.c.id,
                        outbox.c.topic,
                        outbox.c.key,
                        outbox.c.value,
                        outbox.c.headers,
                        outbox.c.created_at,
                    )
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            await conn.rollback()
        if not rows:
            OUTBOX_BACKLOG.labels(self.service).set(0)
            return 0
        producer = await self._ensure_producer()
        futures = [
            await producer.send(
                self.topic_of(r.topic),
                value=r.value,
                key=r.key.encode(),
                headers=[(k, str(v).encode()) for k, v in r.headers.items()],
            )
            for r in rows
        ]
        await asyncio.gather(*futures)
        await self.mark_published([r.id for r in rows])
        now = datetime.now(UTC)
        for r in rows:
            PUBLISH_LATENCY.labels(self.service).observe((now - r.created_at).total_seconds())
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        await self.refresh_backlog()
        return len(rows)

    async def mark_published(self, ids: list[int]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=func.now()))

    async def backlog(self) -> int:
        async with self.engine.connect() as conn:
            result = await conn.execute(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))
            return int(result.scalar_one())

    async def refresh_backlog(self) -> None:
        """Set the backlog gauge from the table."""
        OUTBOX_BACKLOG.labels(self.service).set(await self.backlog())

    async def _acquire(self, conn: AsyncConnection) -> bool:
        # one leader per outbox: the lock names the schema, so two copies of a service on other schemas both publish
        schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
        key = lock_key(f"relay:{self.service}:{schema}")
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar_one()
        await conn.commit()
        self._set_leader(bool(got))
        return bool(got)

    def _set_leader(self, value: bool) -> None:
        self.is_leader = value
        RELAY_LEADER.labels(self.service).set(1 if value else 0)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self.producer_factory()
            try:
                await producer.start()
            except Exception:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), 10)
            except Exception as exc:  # a dead broker: nothing left to flush that is not in the outbox
                log.debug("producer stop: %s", one_line(exc))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()
