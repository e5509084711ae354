"""Database engine for one service: asyncpg under SQLAlchemy 2, pinned to the service's own schema."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
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


# SQLSTATEs of a server that is going away or not there yet: connection exceptions (class 08), admin or crash
# shutdown, "cannot connect now" (starting up or shutting down), too many connections.
UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and the exceptions it was raised from or during (SQLAlchemy wraps the driver's, which wraps the OS's)."""
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _sqlstate(exc: BaseException) -> str:
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return state if isinstance(state, str) else ""


def is_transient(exc: BaseException) -> bool:
    """True when the database or network failed, not the work itself: retry later, do not blame the input."""
    if isinstance(exc, (OperationalError, InterfaceError, OSError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return any(
        isinstance(e, (ConnectionError, TimeoutError)) or _sqlstate(e).startswith(UNAVAILABLE_STATES)
        for e in exception_chain(exc)
    )


def is_bad_data(exc: BaseException) -> bool:
    """True when the database refused a value the client sent (SQLSTATE class 22, or a value asyncpg cannot encode)."""
    return any(
        _sqlstate(e).startswith("22") or type(e).__name__ in ("DataError", "OverflowError")
        for e in exception_chain(exc)
    )


async def copy_rows(conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Bulk insert with PostgreSQL COPY inside the caller's transaction (for thousands of rows at once).

    JSON columns take Python values or ready JSON text; a unique violation raises IntegrityError as an insert would.
    """
    if not rows:
        return
    columns = list(rows[0])
    json_cols = {c for c in columns if isinstance(table.c[c].type, JSON)}
    records = [tuple(_json(r[c]) if c in json_cols else r[c] for c in columns) for r in rows]
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    try:
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
    except Exception as exc:
        if type(exc).__name__ == "UniqueViolationError":
            raise IntegrityError(f"COPY into {table.name}", None, exc) from exc
        raise


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
