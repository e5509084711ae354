"""In-memory event store and unit of work: the same contract as PostgreSQL, for tests that run in milliseconds.

A transaction works on a copy of the committed state and replaces it on commit, after checking that no other
transaction appended to the same streams meanwhile (PostgreSQL's unique (stream_id, stream_version) does that).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from shared.kernel.events import CommandContext, Envelope, PendingEvent, seal
from shared.kernel.eventstore import ConcurrencyError
from shared.kernel.notes import Notes


@dataclass
class MemoryState:
    """What a database holds: streams, outbox, notes, and any projection tables a test fakes ({table: {key: row}})."""

    streams: dict[str, list[Envelope]] = field(default_factory=dict)
    outbox: list[Envelope] = field(default_factory=list)
    notes: dict[UUID, Notes] = field(default_factory=dict)
    tables: dict[str, dict[Any, Any]] = field(default_factory=dict)

    def copy(self) -> MemoryState:
        return MemoryState(
            {k: list(v) for k, v in self.streams.items()},
            list(self.outbox),
            dict(self.notes),
            {name: dict(rows) for name, rows in self.tables.items()},
        )

    def table(self, name: str) -> dict[Any, Any]:
        """A projection table of a fake, created on first use."""
        return self.tables.setdefault(name, {})


@dataclass
class MemoryTransaction:
    """The `conn` of an in-memory unit of work: a working copy and the stream versions it started from."""

    state: MemoryState
    read_versions: dict[str, int] = field(default_factory=dict)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        """A savepoint: an exception inside it undoes only what was written inside it."""
        saved = self.state.copy()
        try:
            yield
        except BaseException:
            self.state = saved
            raise


class MemoryEventStore:
    """EventStore's public surface over MemoryTransaction handles."""

    def __init__(self, topic: str = "memory") -> None:
        self.topic = topic

    async def append(
        self,
        conn: MemoryTransaction,
        stream_id: str,
        expected_version: int,
        pending: Sequence[PendingEvent],
        ctx: CommandContext,
    ) -> list[Envelope]:
        """Append after `expected_version`, as EventStore.append does."""
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
        self, conn: MemoryTransaction, sealed: Sequence[Envelope], notes: Mapping[UUID, Mapping[str, str]] | None = None
    ) -> None:
        """Store already-numbered envelopes; a taken position is a conflict."""
        for env in sealed:
            stream = conn.state.streams.setdefault(env.stream_id, [])
            conn.read_versions.setdefault(env.stream_id, len(stream))
            if env.stream_version != len(stream) + 1:
                raise ConcurrencyError(env.stream_id, env.stream_version - 1, len(stream))
            stream.append(env)
        conn.state.outbox.extend(sealed)
        for event_id, fields in (notes or {}).items():
            if kept := {k: v for k, v in fields.items() if v}:
                conn.state.notes[event_id] = kept

    async def load(self, conn: MemoryTransaction, stream_id: str) -> list[Envelope]:
        return list(conn.state.streams.get(stream_id, []))

    async def version(self, conn: MemoryTransaction, stream_id: str) -> int:
        return len(conn.state.streams.get(stream_id, []))

    async def load_notes(self, conn: MemoryTransaction, event_ids: Iterable[UUID]) -> dict[UUID, Notes]:
        """As shared.kernel.notes.load_notes: {event id: {field: text}} of the events that have notes."""
        return {i: dict(conn.state.notes[i]) for i in event_ids if i in conn.state.notes}


class MemoryUnitOfWork:
    """A unit of work over a MemoryState: rolls back unless committed, like SqlUnitOfWork."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state
        self._tx: MemoryTransaction | None = None
        self.committed = 0

    @property
    def conn(self) -> MemoryTransaction:
        assert self._tx is not None, "use the unit of work inside `async with`"
        return self._tx

    async def __aenter__(self) -> Self:
        self._tx = MemoryTransaction(self.state.copy())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._tx = None  # whatever was not committed is dropped

    async def commit(self) -> None:
        tx = self.conn
        for stream_id, read in tx.read_versions.items():
            now = len(self.state.streams.get(stream_id, []))
            if now != read:  # another transaction appended to this stream after this one read it
                raise ConcurrencyError(stream_id, read, now)
        self.state.streams, self.state.outbox = tx.state.streams, tx.state.outbox
        self.state.notes, self.state.tables = tx.state.notes, tx.state.tables
        self.committed += 1
        self._tx = MemoryTransaction(self.state.copy())  # work after a commit is a new transaction, as in SQL

    async def rollback(self) -> None:
        if self._tx is not None:
            self._tx = MemoryTransaction(self.state.copy())
