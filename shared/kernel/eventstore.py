"""Event store on PostgreSQL: append with an expected version, load a stream; notes and outbox rows in the same tx.

An append is one prepared statement, one round trip: the version check, the event rows and their outbox rows
are CTEs of a single INSERT. The version check compares the stream's version in the statement's snapshot with
the expected one (this catches a caller that is ahead of the stream, where no key would collide); UNIQUE
(stream_id, stream_version) catches a writer that committed after that snapshot was taken. Each envelope is
serialized once: its JSON text becomes both events.envelope and the outbox value.

The relay is woken after the commit, by a NOTIFY the process sends at most one at a time (`OutboxWakeup`): a
NOTIFY inside the append's transaction would take PostgreSQL's cluster-wide notify lock at every commit and
hold it through the WAL flush, serialising all appends. A lost wake-up costs one poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Awaitable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.kernel.db import copy_rows, fetchrow, hold_back
from shared.kernel.events import CommandContext, Envelope, PendingEvent, seal
from shared.kernel.notes import note_rows
from shared.kernel.store_schema import event_notes, events, outbox

R = TypeVar("R")
log = logging.getLogger("rehab.outbox")
BULK_THRESHOLD = 100
OUTBOX_CHANNEL = "rehab_outbox"  # NOTIFY channel prefix; the schema follows, so each outbox wakes its own relay
_NOTIFY = f"pg_notify('{OUTBOX_CHANNEL}:' || current_schema(), '')"
_ROWS = """unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::date[], $7::timestamptz[],
        $8::text[], $9::text[]) WITH ORDINALITY
        AS r (event_id, stream_id, stream_version, event_type, schema_version, occurred_on, recorded_at, envelope,
              headers, n)"""
_WRITE = """ins AS (
    INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, occurred_on, recorded_at,
                        envelope)
    SELECT event_id, stream_id, stream_version, event_type, schema_version, occurred_on, recorded_at, envelope::jsonb
    FROM src ORDER BY n
), ob AS (
    INSERT INTO outbox (event_id, topic, key, value, headers, created_at)
    SELECT event_id, $10, stream_id, convert_to(envelope, 'UTF8'), headers::jsonb, $11 FROM src ORDER BY n
)"""
# $12 stream, $13 expected version; the result is the version the statement saw (== $13 when it appended)
APPEND_SQL = f"""WITH cur AS (SELECT coalesce(max(stream_version), 0) AS v FROM events WHERE stream_id = $12),
src AS (SELECT * FROM {_ROWS} WHERE (SELECT v FROM cur) = $13::int),
{_WRITE}
SELECT (SELECT v FROM cur), (SELECT count(*) FROM src)"""
APPEND_SEALED_SQL = f"""WITH src AS (SELECT * FROM {_ROWS}),
{_WRITE}
SELECT count(*) FROM src"""


_OUTBOX_WRITTEN = "rehab.outbox_written"  # set on a connection whose transaction wrote outbox rows


def wrote_outbox(conn: AsyncConnection) -> bool:
    """Whether the transaction just ended on `conn` wrote outbox rows (and forget it): call after commit/rollback."""
    if conn.closed or conn.invalidated:  # a broken connection: nothing committed, and nothing to reconnect for
        return False
    return bool(conn.info.pop(_OUTBOX_WRITTEN, False))


class OutboxWakeup:
    """Wakes the relays of one engine's schema after commits: one NOTIFY in flight at a time, the rest coalesced.

    `poke()` never waits: a NOTIFY is sent at once when none is in flight, and one more after it when commits came
    meanwhile, so an idle relay wakes a round trip after a commit, and a busy system sends a few NOTIFYs a second
    instead of one per append. Nothing depends on it: a missed wake-up waits for the relay's poll.
    """

    _of: ClassVar[weakref.WeakKeyDictionary[Any, OutboxWakeup]] = weakref.WeakKeyDictionary()
    LINGER = 1.0  # seconds the connection is kept after the last wake-up

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine, self._again = engine, False
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None
        self._poked = asyncio.Event()

    @classmethod
    def of(cls, engine: AsyncEngine) -> OutboxWakeup:
        wakeup = cls._of.get(engine.sync_engine)
        if wakeup is None:
            wakeup = cls._of[engine.sync_engine] = cls(engine)
        return wakeup

    def poke(self) -> None:
        self._again = True
        self._poked.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        try:
            while self._again:
                while self._again:
                    self._again = False
                    if self._conn is None:  # its own connection: a pool's overflow one would reconnect each time
                        self._conn = await self._engine.connect()
                    driver: Any = (await self._conn.get_raw_connection()).driver_connection
                    await driver.execute(f"SELECT {_NOTIFY}")  # alone: its own transaction, one round trip
                self._poked.clear()  # keep the connection while commits keep coming, then give it back
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poked.wait(), self.LINGER)
        except Exception as exc:  # the relay's poll picks the rows up
            log.debug("outbox wake-up not sent: %s", exc)
        finally:
            await self.close()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


def committed(engine: AsyncEngine, conn: AsyncConnection) -> None:
    """After a commit on `conn`: wake the relay if the transaction wrote outbox rows."""
    if wrote_outbox(conn):
        OutboxWakeup.of(engine).poke()


class ConcurrencyError(Exception):
    """Someone else appended to the stream since it was read (HTTP 409)."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None) -> None:
        self.stream_id, self.expected, self.actual = stream_id, expected, actual
        seen = "" if actual is None else f", found {actual}"
        super().__init__(f"stream {stream_id} changed concurrently: expected version {expected}{seen}")


KAFKA_HEADERS = ("event-type", "schema-version", "stream-id", "stream-version", "event-id", "correlation-id")


def kafka_headers(env: Envelope) -> dict[str, str]:
    """Envelope facts a consumer can route on without parsing the value (the relay reads them by these names)."""
    return dict(
        zip(
            KAFKA_HEADERS,
            (
                env.event_type,
                str(env.schema_version),
                env.stream_id,
                str(env.stream_version),
                str(env.event_id),
                env.correlation_id,
            ),
            strict=True,
        )
    )


class EventStore:
    """Appends to and reads from one service's `events` table; every append also fills the outbox."""

    def __init__(self, topic: str) -> None:
        self.topic = topic

    async def append(
        self,
        conn: AsyncConnection,
        stream_id: str,
        expected_version: int,
        pending: Sequence[PendingEvent],
        ctx: CommandContext,
    ) -> list[Envelope]:
        """Append events after `expected_version` (0 for a new stream), inside the caller's transaction."""
        if not pending:
            return []
        sealed = [seal(p, stream_id, expected_version + i + 1, ctx) for i, p in enumerate(pending)]
        notes = {e.event_id: p.notes for e, p in zip(sealed, pending, strict=True) if p.notes}
        if len(sealed) >= BULK_THRESHOLD:  # rare and large: a separate check, then COPY
            actual = await self.version(conn, stream_id)
            if actual != expected_version:
                raise ConcurrencyError(stream_id, expected_version, actual)
            await self.append_sealed(conn, sealed, notes)
            return sealed
        args = (*self._arrays(sealed), stream_id, expected_version)

        async def write(driver: Any) -> None:  # the append alone, on asyncpg, when the unit of work commits it
            try:
                seen = (await driver.fetchrow(APPEND_SQL, *args))[0]
            except Exception as exc:
                if getattr(exc, "constraint_name", None) == "events_stream_version_key":
                    raise ConcurrencyError(stream_id, expected_version) from exc
                raise
            if seen != expected_version:
                raise ConcurrencyError(stream_id, expected_version, seen)

        conn.info[_OUTBOX_WRITTEN] = True
        if not notes and hold_back(conn, write):  # the unit of work's only write so far: sent with its commit
            return sealed
        seen = (await _guarded(fetchrow(conn, APPEND_SQL, args), sealed))[0]
        if seen != expected_version:
            raise ConcurrencyError(stream_id, expected_version, seen)
        await _write_notes(conn, notes)
        return sealed

    async def append_sealed(
        self, conn: AsyncConnection, sealed: Sequence[Envelope], notes: Mapping[UUID, Mapping[str, str]] | None = None
    ) -> None:
        """Insert already-numbered envelopes, their notes and their outbox rows; a taken position is a conflict.

        Large batches (bulk imports) go through COPY, which is several times faster than a multi-row INSERT.
        Notes go to `event_notes` only: the outbox, and so Kafka, gets the envelope alone.
        """
        if not sealed:
            return
        if len(sealed) < BULK_THRESHOLD:
            await _guarded(fetchrow(conn, APPEND_SEALED_SQL, self._arrays(sealed)), sealed)
        else:
            await conn.execute(text(f"SELECT {_NOTIFY}"))  # also opens the transaction before COPY bypasses it
            await _guarded(self._copy(conn, sealed), sealed)
        await _write_notes(conn, notes or {})
        conn.info[_OUTBOX_WRITTEN] = True

    def _arrays(self, sealed: Sequence[Envelope]) -> tuple[Any, ...]:
        """The append statement's $1..$11: one array per column, each envelope serialized once."""
        return (
            [e.event_id for e in sealed],
            [e.stream_id for e in sealed],
            [e.stream_version for e in sealed],
            [e.event_type for e in sealed],
            [e.schema_version for e in sealed],
            [e.occurred_on for e in sealed],
            [e.recorded_at for e in sealed],
            [e.model_dump_json() for e in sealed],
            [json.dumps(kafka_headers(e)) for e in sealed],
            self.topic,
            datetime.now(UTC),
        )

    async def _copy(self, conn: AsyncConnection, sealed: Sequence[Envelope]) -> None:
        now = datetime.now(UTC)
        values = [e.model_dump_json() for e in sealed]
        await copy_rows(conn, events, [_event_row(e, v) for e, v in zip(sealed, values, strict=True)])
        outbox_rows = [
            {
                "event_id": e.event_id,
                "topic": self.topic,
                "key": e.stream_id,
                "value": v.encode(),
                "headers": kafka_headers(e),
                "created_at": now,
            }
            for e, v in zip(sealed, values, strict=True)
        ]
        await copy_rows(conn, outbox, outbox_rows)

    async def load(self, conn: AsyncConnection, stream_id: str) -> list[Envelope]:
        """Every event of a stream, in order."""
        rows = await conn.execute(
            select(events.c.envelope).where(events.c.stream_id == stream_id).order_by(events.c.stream_version)
        )
        return [Envelope.model_validate(r.envelope) for r in rows]

    async def version(self, conn: AsyncConnection, stream_id: str) -> int:
        """The stream's current version (0 when it does not exist)."""
        result = await conn.execute(
            select(func.coalesce(func.max(events.c.stream_version), 0)).where(events.c.stream_id == stream_id)
        )
        return int(result.scalar_one())


async def _guarded(write: Awaitable[R], sealed: Sequence[Envelope]) -> R:
    """Await a write; a taken stream position becomes a ConcurrencyError."""
    try:
        return await write
    except IntegrityError as exc:
        if "events_stream_version_key" in str(exc):
            first = sealed[0]
            raise ConcurrencyError(first.stream_id, first.stream_version - 1) from exc
        raise


async def _write_notes(conn: AsyncConnection, notes: Mapping[UUID, Mapping[str, str]]) -> None:
    if rows := note_rows(notes):  # rare: a second statement only when there is free text
        await conn.execute(event_notes.insert(), rows)


def _event_row(e: Envelope, value: str) -> dict[str, object]:
    return {
        "event_id": e.event_id,
        "stream_id": e.stream_id,
        "stream_version": e.stream_version,
        "event_type": e.event_type,
        "schema_version": e.schema_version,
        "occurred_on": e.occurred_on,
        "recorded_at": e.recorded_at,
        "envelope": value,
    }
