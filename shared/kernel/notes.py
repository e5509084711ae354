"""Event notes: free text that belongs to an event but is never published.

Why the kernel keeps them, and not the payload or each service's read model:

- The payload is what Kafka carries, to every consumer and forever (topics keep every event). "No personal data
  on the bus" must not depend on what a user types: a mentor is a named person, a dropout reason can name an
  illness, a facility can be typed as anything. Where a code or a reference will do, the event carries that;
  where only text will do, the event says that there is text (`mentor_named`, `reason_given`), not what it is.
- The text must survive a rebuild of the owning service's projection, which replays its event store. So a note
  is stored beside its event, keyed by event id, in the append's transaction (`PendingEvent.notes`, written by
  `EventStore.append`). The outbox copies only envelopes, so a note cannot reach the relay.
- One mechanism for every service (cases: mentor, reasons, facility; registry: the determination's facility)
  rather than a text table per service, and the service's projection reads notes with one query.

Events recorded before notes existed (schema v1) carried the text in their payload. Their upcasters drop it from
what code decodes; `with_legacy` lets the owning service read that v1 text from its own event store, so its read
model stays complete after a rebuild. Those old records are on the topics already; nothing can unpublish them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.kernel.events import Envelope
from shared.kernel.store_schema import event_notes

Notes = dict[str, str]


def note_rows(notes: Mapping[UUID, Mapping[str, str]]) -> list[dict[str, object]]:
    """Rows of `event_notes` for {event id: {field: text}} (empty texts are not kept)."""
    return [
        {"event_id": event_id, "field": name, "text": text}
        for event_id, fields in notes.items()
        for name, text in fields.items()
        if text
    ]


async def load_notes(conn: AsyncConnection, event_ids: Iterable[UUID]) -> dict[UUID, Notes]:
    """The notes of these events, {event id: {field: text}}; an event without notes is absent."""
    wanted = list(event_ids)
    if not wanted:
        return {}
    rows = await conn.execute(select(event_notes).where(event_notes.c.event_id.in_(wanted)))
    found: dict[UUID, Notes] = {}
    for row in rows:
        found.setdefault(row.event_id, {})[row.field] = row.text
    return found


async def all_notes(conn: AsyncConnection) -> dict[UUID, Notes]:
    """Every note of the service, for a rebuild that replays the whole event store."""
    found: dict[UUID, Notes] = {}
    for row in await conn.execute(select(event_notes)):
        found.setdefault(row.event_id, {})[row.field] = row.text
    return found


def with_legacy(env: Envelope, stored: Mapping[UUID, Notes], fields: Collection[str]) -> Notes:
    """An event's notes; for a v1 event that carried these `fields` in its payload, that text."""
    notes = dict(stored.get(env.event_id, {}))
    if env.schema_version == 1:
        for name in fields:
            value = env.payload.get(name)
            if isinstance(value, str) and value and name not in notes:
                notes[name] = value
    return notes
