"""A repository loads an aggregate by stream (history folded) and saves what it decided at the version it read."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from shared.kernel.events import CommandContext, Envelope, PendingEvent
from shared.kernel.uow import UnitOfWork

A = TypeVar("A")


class EventStorePort(Protocol):
    """What the repository needs of an event store (shared/kernel/eventstore.py, shared/kernel/memory.py)."""

    async def append(
        self, conn: Any, stream_id: str, expected_version: int, pending: Sequence[PendingEvent], ctx: CommandContext
    ) -> list[Envelope]: ...

    async def append_sealed(
        self, conn: Any, sealed: Sequence[Envelope], notes: Mapping[UUID, Mapping[str, str]] | None = None
    ) -> None: ...

    async def load(self, conn: Any, stream_id: str) -> list[Envelope]: ...

    async def version(self, conn: Any, stream_id: str) -> int: ...


@dataclass(frozen=True)
class Loaded(Generic[A]):
    """An aggregate, the history it was folded from, and so the version a save expects."""

    aggregate: A
    history: list[Envelope]

    @property
    def version(self) -> int:
        return len(self.history)


@dataclass(frozen=True)
class Repository(Generic[A]):
    """Load → (the aggregate decides) → save, the same way in every service."""

    store: EventStorePort
    fold: Callable[[str, Sequence[Envelope]], A]  # the aggregate's from_history over decoded envelopes

    async def load(self, uow: UnitOfWork, stream_id: str) -> Loaded[A]:
        """The stream's aggregate as of its last event (a new, empty one for an unknown stream)."""
        history = await self.store.load(uow.conn, stream_id)
        return Loaded(self.fold(stream_id, history), history)

    async def save(
        self,
        uow: UnitOfWork,
        stream_id: str,
        expected_version: int,
        pending: Sequence[PendingEvent],
        ctx: CommandContext,
    ) -> list[Envelope]:
        """Append the decided events after `expected_version`; a stale version is a ConcurrencyError."""
        return await self.store.append(uow.conn, stream_id, expected_version, pending, ctx)
