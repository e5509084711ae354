"""Idempotent, per-stream ordered consumer: the handler's writes and the consumer's position commit together.

Each consumer keeps, per stream, the last stream_version it applied (`consumer_positions`), in the same
transaction as the handler's writes. A redelivered or republished event has a version at or below that
position and changes nothing. A message that still fails after `max_attempts` goes to `<topic>.dlq` with the
error in its headers, is recorded in `dead_letters`, and the consumer moves on. Failures of the database
itself are not the message's fault: they abort the batch so the transport redelivers it later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.base.logs import correlation, one_line
from shared.base.metrics import (
    CONSUMER_APPLIED,
    CONSUMER_DUPLICATES,
    DLQ_MESSAGES,
    HANDLER_ERRORS,
    LAST_EVENT_TIME,
)
from shared.kernel.db import is_transient
from shared.kernel.events import Envelope
from shared.kernel.eventstore import OutboxWakeup, wrote_outbox
from shared.kernel.kafka import dlq_topic
from shared.kernel.store_schema import consumer_positions, dead_letters

log = logging.getLogger("rehab.consumer")

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]
# The same for a whole batch, in order: a projection that can write many events in a few statements. It runs the
# batch first; when it raises, the consumer retries the batch event by event through `Handler` to isolate poison.
BatchHandler = Callable[[AsyncConnection, Sequence[Envelope]], Awaitable[None]]


@dataclass(frozen=True)
class Record:
    """A message as the transport delivered it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]] = ()


class DeadLetterSink(Protocol):
    async def __call__(self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None: ...


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


class TransientError(Exception):
    """The database (not the message) failed: the batch must be redelivered, not dead-lettered."""


class IdempotentConsumer:
    """Applies batches of records through `handler` exactly once in effect."""

    def __init__(
        self,
        name: str,
        engine: AsyncEngine,
        handler: Handler,
        dead_letter: DeadLetterSink,
        max_attempts: int = 3,
        retry_delay: float = 0.05,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        self.name, self.engine, self.handler, self.dead_letter = name, engine, handler, dead_letter
        self.batch_handler = batch_handler
        self.max_attempts, self.retry_delay = max_attempts, retry_delay

    async def process(self, records: Sequence[Record]) -> BatchResult:
        """Apply a batch; raises TransientError when it must be redelivered."""
        result = BatchResult()
        parsed: list[tuple[Record, Envelope]] = []
        for rec in records:
            try:
                parsed.append((rec, Envelope.from_json(rec.value)))
            except (ValidationError, ValueError) as exc:
                await self._dead(None, rec, None, f"malformed envelope: {one_line(exc)}", 1)
                result.dead += 1
        if not parsed:
            return result
        try:
            return await self._apply(parsed, result, careful=False)
        except Exception as exc:
            if is_transient(exc):
                raise TransientError(one_line(exc)) from exc
            # Some message failed: replay the batch one savepoint per message to find and isolate it.
        try:
            return await self._apply(parsed, BatchResult(dead=result.dead), careful=True)
        except Exception as exc:
            if not isinstance(exc, TransientError) and is_transient(exc):
                raise TransientError(one_line(exc)) from exc
            raise

    async def _apply(self, batch: list[tuple[Record, Envelope]], result: BatchResult, careful: bool) -> BatchResult:
        async with self.engine.begin() as conn:
            positions = await self._positions(conn, {env.stream_id for _, env in batch})
            moved: dict[str, int] = {}
            due: list[Envelope] = []  # for the batch handler, applied together once every check is made
            for rec, env in batch:
                parked = False
                if env.stream_version <= positions.get(env.stream_id, 0):
                    # a replay from the DLQ applies an event the consumer had set aside, behind its stream
                    parked = _is_replay(rec) and await self._parked(conn, env)
                    if not parked:
                        result.duplicates += 1
                        CONSUMER_DUPLICATES.labels(self.name, rec.topic).inc()
                        continue
                error: str | None = None
                if careful:
                    error = await self._attempt(conn, rec, env)
                    if error is not None:
                        await self._dead(conn, rec, env, error, self.max_attempts)
                        result.dead += 1
                        result.errors.append(error)
                elif self.batch_handler is not None:
                    due.append(env)
                else:
                    with correlation(env.correlation_id):
                        await self.handler(conn, env)
                if error is None:
                    result.applied += 1
                if parked and error is None:  # a replay that fails again stays parked (and is parked again)
                    await self._resolve(conn, env)
                else:
                    positions[env.stream_id] = moved[env.stream_id] = env.stream_version
            if due:
                assert self.batch_handler is not None
                await self.batch_handler(conn, due)
            if moved:
                stmt = insert(consumer_positions).values(
                    [{"consumer": self.name, "stream_id": s, "stream_version": v} for s, v in moved.items()]
                )
                await conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["consumer", "stream_id"],
                        set_={"stream_version": stmt.excluded.stream_version},
                    )
                )
            appended = wrote_outbox(conn)
        if appended:  # committed: a handler that appended (cases following a move) wakes the relay
            OutboxWakeup.of(self.engine).poke()
        rec, env = batch[-1]
        CONSUMER_APPLIED.labels(self.name, rec.topic).inc(result.applied)
        LAST_EVENT_TIME.labels(self.name, rec.topic).set(env.recorded_at.timestamp())
        return result

    async def _attempt(self, conn: AsyncConnection, rec: Record, env: Envelope) -> str | None:
        """Try one event up to max_attempts times in savepoints; None on success, else the last error."""
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with conn.begin_nested():
                    with correlation(env.correlation_id):
                        await self.handler(conn, env)
                return None
            except Exception as exc:
                if is_transient(exc):
                    raise TransientError(one_line(exc)) from exc
                error = one_line(exc)
                HANDLER_ERRORS.labels(self.name, rec.topic).inc()
                log.warning(
                    "handler failed (attempt %d/%d) on %s: %s",
                    attempt,
                    self.max_attempts,
                    env.event_id,
                    error,
                )
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.retry_delay * attempt)
        return error

    async def _parked(self, conn: AsyncConnection, env: Envelope) -> bool:
        """True when this consumer set `env` aside and has not applied it since."""
        found = await conn.scalar(
            select(dead_letters.c.id).where(
                dead_letters.c.consumer == self.name,
                dead_letters.c.event_id == env.event_id,
                dead_letters.c.resolved_at.is_(None),
            )
        )
        return found is not None

    async def _resolve(self, conn: AsyncConnection, env: Envelope) -> None:
        await conn.execute(
            update(dead_letters)
            .where(dead_letters.c.consumer == self.name, dead_letters.c.event_id == env.event_id)
            .values(resolved_at=func.now())
        )

    async def _positions(self, conn: AsyncConnection, streams: set[str]) -> dict[str, int]:
        rows = await conn.execute(
            select(consumer_positions.c.stream_id, consumer_positions.c.stream_version).where(
                consumer_positions.c.consumer == self.name, consumer_positions.c.stream_id.in_(streams)
            )
        )
        return {r.stream_id: r.stream_version for r in rows}

    async def _dead(
        self, conn: AsyncConnection | None, rec: Record, env: Envelope | None, error: str, attempts: int
    ) -> None:
        headers = {k: v.decode(errors="replace") for k, v in rec.headers}
        headers.update(
            {
                "x-error": error[:1000],
                "x-consumer": self.name,
                "x-original-topic": rec.topic,
                "x-original-partition": str(rec.partition),
                "x-original-offset": str(rec.offset),
                "x-attempts": str(attempts),
                "x-failed-at": datetime.now(UTC).isoformat(),
            }
        )
        await self.dead_letter(dlq_topic(rec.topic), rec.key, rec.value, headers)
        DLQ_MESSAGES.labels(self.name, rec.topic).inc()
        log.error("dead-lettered %s[%d]@%d: %s", rec.topic, rec.partition, rec.offset, error)
        row = {
            "consumer": self.name,
            "topic": rec.topic,
            "kafka_partition": rec.partition,
            "kafka_offset": rec.offset,
            "event_id": env.event_id if env else None,
            "stream_id": env.stream_id if env else None,
            "stream_version": env.stream_version if env else None,
            "error": error,
        }
        if conn is not None:
            await conn.execute(dead_letters.insert().values(row))
        else:
            async with self.engine.begin() as own:
                await own.execute(dead_letters.insert().values(row))


def _is_replay(rec: Record) -> bool:
    return any(k == "x-replayed-from" for k, _ in rec.headers)
