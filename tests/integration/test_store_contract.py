"""One contract for both event stores and units of work: in memory (shared/kernel/memory.py) and PostgreSQL.

Like pyeventsourcing's abstract recorder tests: the same assertions run against each implementation, so the
fast fake the application-service tests use cannot drift from the store production uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text

from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.events import CommandContext, Event, PendingEvent
from shared.kernel.eventstore import ConcurrencyError, EventStore
from shared.kernel.ids import uuid7
from shared.kernel.memory import MemoryEventStore, MemoryState, MemoryUnitOfWork
from shared.kernel.migrations import migrate
from shared.kernel.notes import Notes, load_notes
from shared.kernel.repository import Repository
from shared.kernel.store_schema import KERNEL_MIGRATIONS
from shared.kernel.uow import SqlUnitOfWork, UnitOfWork

CTX = CommandContext()


class Counted(Event):
    event_type = "counted"
    n: int


def counted(n: int, notes: dict[str, str] | None = None) -> PendingEvent:
    return PendingEvent(event=Counted(n=n), occurred_on=date(2024, 5, 1), unit_code="07616", notes=notes or {})


@dataclass
class Backend:
    """A store, a way to open units of work on it, and the two reads the contract checks beside the events."""

    store: Any
    uow: Callable[[], UnitOfWork]
    notes: Callable[[Any, Iterable[UUID]], Any]
    outbox: Callable[[Any], Any]


async def _pg_outbox(conn: Any) -> int:
    return int(await conn.scalar(text("SELECT count(*) FROM outbox")))


async def _memory_outbox(conn: Any) -> int:
    return len(conn.state.outbox)


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.integration)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        store = MemoryEventStore()
        state = MemoryState()
        yield Backend(store, lambda: MemoryUnitOfWork(state), store.load_notes, _memory_outbox)
        return
    schema = f"t_{uuid7().hex[-12:]}"
    base = ServiceSettings()
    settings = ServiceSettings.for_service(
        schema, database_url=f"postgresql+asyncpg://rehab:rehab@{base.pg_host}:{base.pg_port}/rehab", db_schema=schema
    )
    admin = make_engine(settings.dsn(), "public", 1)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(settings.dsn(), schema, 4)
    await migrate(engine, schema, KERNEL_MIGRATIONS)
    try:
        yield Backend(EventStore("contract"), lambda: SqlUnitOfWork(engine), load_notes, _pg_outbox)
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def test_append_then_load_gives_the_events_in_order_and_the_version(backend: Backend) -> None:
    async with backend.uow() as uow:
        sealed = await backend.store.append(uow.conn, "s-1", 0, [counted(1), counted(2)], CTX)
        await backend.store.append(uow.conn, "s-1", 2, [counted(3)], CTX)
        await uow.commit()
    async with backend.uow() as uow:
        loaded = await backend.store.load(uow.conn, "s-1")
        assert [e.payload["n"] for e in loaded] == [1, 2, 3]
        assert [e.stream_version for e in loaded] == [1, 2, 3]
        assert loaded[0].event_id == sealed[0].event_id
        assert await backend.store.version(uow.conn, "s-1") == 3
        assert await backend.store.version(uow.conn, "unknown") == 0
        assert await backend.store.load(uow.conn, "unknown") == []
        assert await backend.outbox(uow.conn) == 3


async def test_a_stale_expected_version_is_a_concurrency_error(backend: Backend) -> None:
    async with backend.uow() as uow:
        await backend.store.append(uow.conn, "s-2", 0, [counted(1)], CTX)
        await uow.commit()
    async with backend.uow() as uow:
        with pytest.raises(ConcurrencyError) as refused:  # by the commit at the latest (PostgreSQL's lone append)
            await backend.store.append(uow.conn, "s-2", 0, [counted(2)], CTX)
            await uow.commit()
        assert refused.value.stream_id == "s-2" and refused.value.expected == 0
    async with backend.uow() as uow:
        assert await backend.store.version(uow.conn, "s-2") == 1


async def test_a_unit_of_work_rolls_back_unless_committed(backend: Backend) -> None:
    async with backend.uow() as uow:
        await backend.store.append(uow.conn, "s-3", 0, [counted(1)], CTX)
    with pytest.raises(RuntimeError):
        async with backend.uow() as uow:
            await backend.store.append(uow.conn, "s-4", 0, [counted(1)], CTX)
            raise RuntimeError("the command failed after its append")
    async with backend.uow() as uow:
        assert await backend.store.version(uow.conn, "s-3") == 0
        assert await backend.store.version(uow.conn, "s-4") == 0
        assert await backend.outbox(uow.conn) == 0


async def test_notes_are_kept_beside_their_events_without_empty_texts(backend: Backend) -> None:
    async with backend.uow() as uow:
        sealed = await backend.store.append(
            uow.conn, "s-5", 0, [counted(1, {"mentor": "Bình", "x": ""}), counted(2)], CTX
        )
        await uow.commit()
    async with backend.uow() as uow:
        found: dict[UUID, Notes] = await backend.notes(uow.conn, [e.event_id for e in sealed])
    assert found == {sealed[0].event_id: {"mentor": "Bình"}}


async def test_a_repository_folds_the_history_and_saves_at_the_version_it_read(backend: Backend) -> None:
    repo = Repository(backend.store, lambda stream_id, history: sum(e.payload["n"] for e in history))
    async with backend.uow() as uow:
        await repo.save(uow, "s-6", 0, [counted(4), counted(5)], CTX)
        await uow.commit()
    async with backend.uow() as uow:
        loaded = await repo.load(uow, "s-6")
        assert (loaded.aggregate, loaded.version) == (9, 2)
        await repo.save(uow, "s-6", loaded.version, [counted(1)], CTX)
        with pytest.raises(ConcurrencyError):
            await repo.save(uow, "s-6", loaded.version, [counted(1)], CTX)
