"""Event store on PostgreSQL: append with an expected version, load a stream; notes and outbox rows in the same tx."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import copy_rows
from shared.events import CommandContext, Envelope, PendingEvent, seal
from shared.notes import note_rows
from shared.store_schema import event_notes, events, outbox

BULK_THRESHOLD = 100


class ConcurrencyError(Exception):
    """Someone else appended to the stream since it was read (HTTP 409)."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None) -> None:
        self.stream_id, self.expected, self.actual = stream_id, expected, actual
        seen = "" if actual is None else f", found {actual}"
        super().__init__(f"stream {stream_id} changed concurrently: expected version {expected}{seen}")


def kafka_headers(env: Envelope) -> dict[str, str]:
    """Envelope facts a consumer can route on without parsing the value."""
    return {
        "event-type": env.event_type,
        "schema-version": str(env.schema_version),
        "stream-id": env.stream_id,
        "stream-version": str(env.stream_version),
        "event-id": str(env.event_id),
        "correlation-id": env.correlation_id,
    }


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
        actual = await self.version(conn, stream_id)
        if actual != expected_version:
            raise ConcurrencyError(stream_id, expected_version, actual)
        sealed = [seal(p, stream_id, expected_version + i + 1, ctx) for i, p in enumerate(pending)]
        notes = {e.event_id: p.notes for e, p in zip(sealed, pending, strict=True) if p.notes}
        await self.append_sealed(conn, sealed, notes)
        return sealed

    async def append_sealed(
        self, conn: AsyncConnection, sealed: Sequence[Envelope], notes: Mapping[UUID, Mapping[str, str]] | None = None
    ) -> None:
        """Insert already-numbered envelopes, their notes and their outbox rows; a taken position is a conflict.

        Large batches (bulk imports) go through COPY, which is several times faster than a multi-row INSERT.
        Notes go to `event_notes` only: the outbox, and so Kafka, gets the envelope alone.
        """
        now = datetime.now(UTC)
        values = [e.to_json() for e in sealed]
        bulk = len(sealed) >= BULK_THRESHOLD
        event_rows = [_event_row(e, v, bulk) for e, v in zip(sealed, values, strict=True)]
        try:
            if bulk:
                await copy_rows(conn, events, event_rows)
            else:
                await conn.execute(events.insert(), event_rows)
        except IntegrityError as exc:
            if "events_stream_version_key" in str(exc):
                first = sealed[0]
                raise ConcurrencyError(first.stream_id, first.stream_version - 1) from exc
            raise
        if rows := note_rows(notes or {}):
            await conn.execute(event_notes.insert(), rows)
        outbox_rows = [
            {
                "event_id": e.event_id,
                "topic": self.topic,
                "key": e.stream_id,
                "value": v,
                "headers": kafka_headers(e),
                "created_at": now,
            }
            for e, v in zip(sealed, values, strict=True)
        ]
        if bulk:
            await copy_rows(conn, outbox, outbox_rows)
        else:
            await conn.execute(outbox.insert(), outbox_rows)

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


def _event_row(e: Envelope, value: bytes, as_text: bool) -> dict[str, object]:
    return {
        "event_id": e.event_id,
        "stream_id": e.stream_id,
        "stream_version": e.stream_version,
        "event_type": e.event_type,
        "schema_version": e.schema_version,
        "occurred_on": e.occurred_on,
        "recorded_at": e.recorded_at,
        "envelope": value.decode() if as_text else json.loads(value),
    }
