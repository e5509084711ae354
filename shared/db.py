"""Database engine for one service: asyncpg under SQLAlchemy 2, pinned to the service's own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def make_engine(dsn: str, schema: str, pool_size: int = 10, application_name: str = "rehab") -> AsyncEngine:
    """An engine whose connections use `schema` first on their search path; nothing connects yet."""
    return create_async_engine(
        dsn,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "server_settings": {"search_path": schema, "application_name": application_name},
            "timeout": 10,
            "command_timeout": 60,
        },
    )


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One unit of work: commits when the block ends, rolls back on any exception."""
    async with engine.begin() as conn:
        yield conn


def is_transient(exc: BaseException) -> bool:
    """True when the database or network failed, not the work itself: retry later, do not blame the input."""
    if isinstance(exc, (OperationalError, InterfaceError, ConnectionError, OSError, TimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
