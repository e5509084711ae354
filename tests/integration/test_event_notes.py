"""Event notes (shared/kernel/notes.py) on the real PostgreSQL: beside their event, never in the outbox or on Kafka."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import text

from shared.kernel.events import CommandContext, Event, PendingEvent
from shared.kernel.eventstore import ConcurrencyError, EventStore
from shared.kernel.notes import all_notes, load_notes
from tests.integration.conftest import Stack
from tests.support.polling import wait_for
from tests.support.services import read_topic

pytestmark = pytest.mark.integration
MENTOR = "Nguyễn Văn Bình"


class Mentored(Event):
    event_type = "mentored"
    mentor_named: bool


def mentored(notes: dict[str, str]) -> PendingEvent:
    return PendingEvent(
        event=Mentored(mentor_named=bool(notes)), occurred_on=date(2024, 3, 1), unit_code="07616", notes=notes
    )


async def test_a_note_is_stored_with_its_event_and_published_nowhere(stack: Stack) -> None:
    store = EventStore(stack.topic)
    async with stack.engine.begin() as conn:
        sealed = await store.append(
            conn, "n-1", 0, [mentored({"mentor": MENTOR, "empty": ""}), mentored({})], CommandContext()
        )
    async with stack.engine.connect() as conn:
        assert await load_notes(conn, [e.event_id for e in sealed]) == {sealed[0].event_id: {"mentor": MENTOR}}
        assert await all_notes(conn) == {sealed[0].event_id: {"mentor": MENTOR}}
        stored = await conn.scalar(text("SELECT string_agg(envelope::text, '') FROM events"))
        queued = await conn.scalar(text("SELECT string_agg(convert_from(value, 'UTF8'), '') FROM outbox"))
    assert MENTOR not in stored and MENTOR not in queued and '"mentor_named":true' in queued

    relay = stack.relay()
    task = asyncio.create_task(relay.run())
    try:
        records: list[object] = []

        async def published() -> bool:
            records[:] = await read_topic(stack.settings, stack.topic)
            return len(records) == 2

        await wait_for(published, 30)
    finally:
        relay.stop()
        await task
    assert MENTOR not in repr(records)


async def test_a_refused_append_leaves_no_note(stack: Stack) -> None:
    store = EventStore(stack.topic)
    async with stack.engine.begin() as conn:
        await store.append(conn, "n-2", 0, [mentored({})], CommandContext())
    with pytest.raises(ConcurrencyError):
        async with stack.engine.begin() as conn:
            await store.append(conn, "n-2", 0, [mentored({"mentor": MENTOR})], CommandContext())
    assert await stack.scalar("SELECT count(*) FROM event_notes") == 0
