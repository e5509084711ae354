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
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.base.logs import one_line
from shared.base.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED, PUBLISH_LATENCY, RELAY_ERRORS, RELAY_LEADER
from shared.kernel.eventstore import KAFKA_HEADERS, OUTBOX_CHANNEL
from shared.kernel.migrations import lock_key
from shared.kernel.store_schema import outbox

log = logging.getLogger("rehab.relay")
_PARTITIONER = DefaultPartitioner()

ProducerFactory = Callable[[], AIOKafkaProducer]
IN_FLIGHT = 3  # batches sent and awaiting their acks and marks while the next is read: marking 1,000 rows is slow
# The partial index outbox_pending, in id order. Each header is read by name into a column of its own (the names
# kafka_headers writes): the read is the drain's critical path, and 1,000 rows read and decoded this way took
# 11-18 µs a row here, against 16-22 with the headers' JSON decoded in Python, 20-27 with it unpacked in SQL.
PENDING_SQL = f"""SELECT id, topic, key, value, {", ".join(f"headers->>'{name}'" for name in KAFKA_HEADERS)}, created_at
FROM outbox WHERE published_at IS NULL AND id > $1 ORDER BY id LIMIT $2"""
MARK_SQL = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"


class Pending(NamedTuple):
    """An outbox row as the producer takes it."""

    id: int
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    created_at: datetime


class OutboxRelay:
    """Moves outbox rows to Kafka: run() loops until stopped, drain() until caught up, publish_batch() one step."""

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
        self._channel = OUTBOX_CHANNEL

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
        async with self._listening(lock_conn):
            last_check = time.monotonic()
            while not self._stopping.is_set():
                await self.drain()
                if time.monotonic() - last_check > 5:  # is the lock's (and the listener's) connection still alive?
                    await lock_conn.execute(text("SELECT 1"))
                    await lock_conn.rollback()  # a session inside a transaction gets no notifications
                    last_check = time.monotonic()
                await self._sleep(self.idle_seconds)  # the poll is the fallback for a missed notification

    @contextlib.asynccontextmanager
    async def _listening(self, lock_conn: AsyncConnection) -> AsyncIterator[None]:
        """LISTEN on the leader's own connection: every commit of an append calls wake(), so no row waits a poll."""
        channel = self._channel
        driver: Any = (await lock_conn.get_raw_connection()).driver_connection
        await driver.add_listener(channel, self._notified)
        try:
            yield
        finally:
            if not driver.is_closed():  # the connection goes back to the pool: it must not listen there
                with contextlib.suppress(Exception):
                    await driver.remove_listener(channel, self._notified)

    def _notified(self, *_: object) -> None:
        self.wake()

    async def publish_batch(self) -> int:
        """Publish up to batch_size pending rows in id order, then mark them; returns how many."""
        rows = await self._pending()
        return await self._settle(rows, await self._send(rows))

    async def drain(self) -> int:
        """Publish until a batch comes back short; the next batch is read while one is sent, earlier ones marked.

        Each batch holds only ids above the previous one's, so nothing is sent twice and the sends keep id order
        (the next read only overlaps the current batch's sends, it is sent after them); a row committed late with
        a lower id is found by the next drain, which starts from the lowest pending id again.
        """
        total, settling = 0, deque[asyncio.Future[int]]()
        reading: asyncio.Future[list[Pending]] | None = asyncio.ensure_future(self._pending())
        try:
            while reading is not None:
                rows = await reading
                reading = None
                if len(rows) == self.batch_size:  # more is waiting: read it while this batch goes out
                    reading = asyncio.ensure_future(self._pending(rows[-1].id))
                    await asyncio.sleep(0)  # let the read reach the database before the sends hold the loop
                settling.append(asyncio.ensure_future(self._settle(rows, await self._send(rows))))
                while settling and (len(settling) > IN_FLIGHT or reading is None):
                    total += await settling.popleft()
            return total
        finally:  # a failure mid-drain: let the read and the batches in flight finish or fail on their own
            await asyncio.gather(*settling, *([reading] if reading is not None else []), return_exceptions=True)

    async def _pending(self, after: int = 0) -> list[Pending]:
        """Up to batch_size unpublished rows above `after`, in id order, ready to send (the hot read: raw asyncpg)."""
        async with self.engine.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            rows = await driver.fetch(PENDING_SQL, after, self.batch_size)
        return [Pending(r[0], r[1], r[2].encode(), r[3], _headers(r[4:-1]), r[-1]) for r in rows]

    async def _send(self, rows: list[Pending]) -> list[asyncio.Future[Any]]:
        """Queue the rows as record batches, one partition at a time; one future per batch, not per row.

        A row goes to the partition the producer's own partitioner gives its key (murmur2, as `send` would), so a
        stream stays on one partition; rows of a partition keep their id order, within a batch and across batches.
        """
        if not rows:
            return []
        producer = await self._ensure_producer()
        partitions = {t: sorted(await producer.partitions_for(self.topic_of(t))) for t in {r.topic for r in rows}}
        of_key: dict[tuple[str, bytes], int] = {}  # murmur2 once per stream of the batch
        by_partition: dict[tuple[str, int], list[Pending]] = {}
        for r in rows:
            partition = of_key.get((r.topic, r.key))
            if partition is None:
                every = partitions[r.topic]
                partition = of_key[(r.topic, r.key)] = _PARTITIONER(r.key, every, every)
            by_partition.setdefault((self.topic_of(r.topic), partition), []).append(r)
        futures: list[asyncio.Future[Any]] = []
        for (topic, partition), queued in by_partition.items():
            batch = producer.create_batch()
            for r in queued:
                # full: sent, and the row goes into a new batch (which takes its first record whatever its size)
                while batch.append(key=r.key, value=r.value, timestamp=None, headers=r.headers) is None:
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        return futures

    async def _settle(self, rows: list[Pending], futures: list[asyncio.Future[Any]]) -> int:
        """Wait for Kafka to acknowledge every row, then mark them; returns how many."""
        if not rows:
            OUTBOX_BACKLOG.labels(self.service).set(0)
            return 0
        try:  # in send order: the same wait as gather, without a callback and a result list per row
            for future in futures:
                await future
        except BaseException:
            for future in futures:  # a failed send: the others' errors are retrieved, not logged at exit
                future.add_done_callback(_retrieve)
            raise
        await self.mark_published([r.id for r in rows])
        now, latency = datetime.now(UTC), PUBLISH_LATENCY.labels(self.service)
        for r in rows:
            latency.observe((now - r.created_at).total_seconds())
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        if len(rows) < self.batch_size:  # caught up as of the read: the scrape counts what was committed since
            OUTBOX_BACKLOG.labels(self.service).set(0)
        return len(rows)

    async def mark_published(self, ids: list[int]) -> None:
        """One statement in its own transaction (autocommit: one round trip, no BEGIN and COMMIT of its own)."""
        async with self.engine.connect() as conn:  # one array parameter, one prepared statement, whatever the batch
            driver: Any = (await conn.get_raw_connection()).driver_connection
            await driver.execute(MARK_SQL, ids)

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
        self._channel = f"{OUTBOX_CHANNEL}:{schema}"  # the channel the appends in this schema notify
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


def _headers(values: Sequence[str | None]) -> list[tuple[str, bytes]]:
    """The row's header columns as the producer takes them: (name, value as bytes), a missing one left out."""
    return [(name, value.encode()) for name, value in zip(KAFKA_HEADERS, values, strict=True) if value is not None]


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
