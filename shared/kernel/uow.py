"""The unit of work: one transaction for a command's events, outbox rows, projection rows and audit entries.

Nothing is kept unless the command says so: leaving the block without `await uow.commit()` rolls everything
back, as does an exception (cosmicpython's rule). A unit of work bound to a consumer's connection runs in a
savepoint of the consumer's transaction, so the consumer's position still commits with what the handler wrote.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from shared.kernel.db import allow_holding_back, send_held_back
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
    """A PostgreSQL transaction of its own, on a connection from the engine's pool.

    The transaction begins with the first statement (SQLAlchemy's autobegin) and a lone append waits for the commit
    (shared/kernel/db.py, `hold_back`): a command whose only write is its events costs one round trip to write
    them, and one that does more sends BEGIN, its statements in order, and COMMIT, as it always did.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    @property
    def conn(self) -> AsyncConnection:
        assert self._conn is not None, "use the unit of work inside `async with`"
        return self._conn

    async def __aenter__(self) -> Self:
        self._conn = await self._engine.connect()
        allow_holding_back(self._conn, True)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn = self._conn
        assert conn is not None
        try:
            await self.rollback()
        finally:
            wrote_outbox(conn)  # a rolled-back append leaves nothing to wake the relay for
            if not (conn.closed or conn.invalidated):
                allow_holding_back(conn, False)  # the pooled connection's next user does not hold back
            await conn.close()
            self._conn = None

    async def commit(self) -> None:
        conn = self.conn
        await send_held_back(conn)  # alone (one round trip) when it was the only write; a conflict raises here
        if conn.in_transaction():
            await conn.commit()
        committed(self._engine, conn)  # wakes the relay when the transaction wrote outbox rows

    async def rollback(self) -> None:
        conn = self.conn
        if not (conn.closed or conn.invalidated):
            allow_holding_back(conn, True)  # forget a held-back write, keep holding back
        if conn.in_transaction():
            await conn.rollback()


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
