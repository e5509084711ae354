"""The unit of work: one transaction for a command's events, outbox rows, projection rows and audit entries.

Nothing is kept unless the command says so: leaving the block without `await uow.commit()` rolls everything
back, as does an exception (cosmicpython's rule). A unit of work bound to a consumer's connection runs in a
savepoint of the consumer's transaction, so the consumer's position still commits with what the handler wrote.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from shared.kernel.eventstore import committed, wrote_outbox


class UnitOfWork(Protocol):
    """A transaction the stores, repositories and projections write through (`conn`)."""

    @property
    def conn(self) -> Any: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class SqlUnitOfWork:
    """A PostgreSQL transaction of its own, on a connection from the engine's pool."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None

    @property
    def conn(self) -> AsyncConnection:
        assert self._conn is not None, "use the unit of work inside `async with`"
        return self._conn

    async def __aenter__(self) -> Self:
        self._conn = await self._engine.connect()
        self._tx = await self._conn.begin()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.rollback()
        finally:
            assert self._conn is not None
            wrote_outbox(self._conn)  # a rolled-back append leaves nothing to wake the relay for
            await self._conn.close()
            self._conn = self._tx = None

    async def commit(self) -> None:
        assert self._tx is not None and self._conn is not None
        await self._tx.commit()
        committed(self._engine, self._conn)  # wakes the relay when the transaction wrote outbox rows

    async def rollback(self) -> None:
        if self._tx is not None and self._tx.is_active:
            await self._tx.rollback()


class BoundUnitOfWork:
    """A savepoint inside a transaction someone else owns (a consumer's, which also commits its position)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._savepoint: AsyncTransaction | None = None

    @property
    def conn(self) -> AsyncConnection:
        return self._conn

    async def __aenter__(self) -> Self:
        self._savepoint = await self._conn.begin_nested()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.rollback()
        self._savepoint = None

    async def commit(self) -> None:
        """Keep the work in the owner's transaction; the owner's commit makes it durable."""
        assert self._savepoint is not None
        await self._savepoint.commit()

    async def rollback(self) -> None:
        if self._savepoint is not None and self._savepoint.is_active:
            await self._savepoint.rollback()
