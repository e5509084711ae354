"""Database engine for one service: asyncpg under SQLAlchemy 2, pinned to the service's own schema."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

import asyncpg
from sqlalchemy import JSON, Table, event, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.util import await_only


def make_engine(dsn: str, schema: str, pool_size: int = 10, application_name: str = "rehab") -> AsyncEngine:
    """An engine whose connections use `schema` first on their search path; nothing connects yet.

    No pre-ping: SQLAlchemy's costs three round trips (BEGIN, a query, ROLLBACK) on every checkout, more than a
    command's own work. A connection the server closed (a restart, an idle kill) is already known to asyncpg, so
    the checkout asks asyncpg for free and the pool replaces it; one that dies mid-command fails that command as
    transient (503, retried by consumers) and SQLAlchemy then recycles every connection the pool held.
    """
    engine = create_async_engine(
        dsn,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args={
            "server_settings": {"search_path": schema, "application_name": application_name},
            "timeout": 10,
            "command_timeout": 60,
        },
    )
    event.listen(engine.sync_engine.pool, "checkout", _closed_is_gone)
    event.listen(engine.sync_engine, "before_cursor_execute", _write_held_back_first)
    return engine


# --- a write held back to the commit ---------------------------------------------------------------------------
#
# A unit of work whose one write is a single statement (an append: check, events and outbox rows together) needs
# no BEGIN and COMMIT around it: PostgreSQL runs a lone statement as its own transaction. So the unit of work lets
# such a write wait (`hold_back`): its commit sends it alone, one round trip instead of three. Anything else the
# transaction does first sends it, in the transaction, in the order it was written: every statement through
# SQLAlchemy (the listener below), and the raw statements of this module (`fetchrow`, `copy_rows`).

Write = Callable[[Any], Awaitable[None]]  # given the asyncpg connection
_MAY_HOLD = "rehab.may_hold_back"  # set by a unit of work that commits right after its last write
_HELD = "rehab.held_back"


def allow_holding_back(conn: AsyncConnection, allowed: bool) -> None:
    """Let `hold_back` keep a write on `conn` until it is needed (a unit of work's own transaction), or stop it;
    either way a write held back so far is forgotten (a rollback, a unit of work's end)."""
    conn.info[_MAY_HOLD] = allowed
    conn.info.pop(_HELD, None)


def hold_back(conn: AsyncConnection, write: Write) -> bool:
    """Keep `write` for the commit when the unit of work allows it and nothing was sent in its transaction yet.

    Returns False (the caller writes now) otherwise. A write held back is sent before the connection's next
    statement, or alone at the commit (`send_held_back`); a rollback forgets it.
    """
    if not conn.info.get(_MAY_HOLD) or _HELD in conn.info:
        return False
    adapter: Any = _raw(conn).dbapi_connection
    if adapter._transaction is not None:  # begun on the server: write in it, in order
        return False
    conn.info[_HELD] = write
    return True


async def send_held_back(conn: AsyncConnection) -> None:
    """Send a held-back write now: inside the transaction if one has begun on the server, else on its own."""
    write = conn.info.pop(_HELD, None)
    if write is not None:
        await write(_raw(conn).driver_connection)


def _raw(conn: AsyncConnection) -> PoolProxiedConnection:
    """The pooled DBAPI connection of a connection already checked out (no I/O, no greenlet, unlike
    `get_raw_connection`, which costs as much as the statement's encoding on the hot path)."""
    sync = conn.sync_connection
    assert sync is not None, "the connection is not open"
    return sync.connection


async def _in_transaction(adapter: Any, write: Write) -> None:
    if adapter._transaction is None:  # as SQLAlchemy's adapter would for the statement that follows
        await adapter._start_transaction()
    await write(adapter._connection)


def _write_held_back_first(conn: Any, *_: Any) -> None:
    """Before any statement SQLAlchemy sends: the write held back goes first, in the same transaction."""
    write = conn.info.pop(_HELD, None)
    if write is not None:
        await_only(_in_transaction(conn.connection.dbapi_connection, write))


def _closed_is_gone(_: Any, record: ConnectionPoolEntry, __: PoolProxiedConnection) -> None:
    driver: Any = record.driver_connection
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the server closed this pooled connection")  # the pool connects anew


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
        isinstance(e, (ConnectionError, TimeoutError))
        or _sqlstate(e).startswith(UNAVAILABLE_STATES)
        or _driver_connection_error(e)
        for e in exception_chain(exc)
    )


_DRIVER_CONNECTION_ERRORS = {"InterfaceError", "InternalClientError", "ConnectionDoesNotExistError"}


def _driver_connection_error(exc: BaseException) -> bool:
    """asyncpg's own errors for a connection that broke under a statement (the hot path runs on asyncpg directly)."""
    return type(exc).__module__.startswith("asyncpg") and any(
        cls.__name__ in _DRIVER_CONNECTION_ERRORS for cls in type(exc).__mro__
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
    json_at = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    values = itemgetter(*columns)  # a row's values in C: a generator per row cost more than the COPY's encoding
    records = [values(r) for r in rows] if len(columns) > 1 else [(values(r),) for r in rows]
    if json_at:
        records = [_with_json(record, json_at) for record in records]
    await copy_records(conn, table, columns, records)


async def copy_records(
    conn: AsyncConnection, table: Table, columns: Sequence[str], records: Sequence[Sequence[Any]]
) -> None:
    """`copy_rows` for rows already in tuples of `columns`' values, JSON columns as JSON text: for a bulk writer
    that builds its tuples itself, without a dict per row."""
    if not records:
        return
    raw = await _begin_on_server(conn)  # COPY goes round SQLAlchemy: the transaction (and a held-back write) first
    driver: Any = raw.driver_connection
    try:
        await driver.copy_records_to_table(table.name, records=records, columns=list(columns))
    except Exception as exc:
        if type(exc).__name__ == "UniqueViolationError":
            raise IntegrityError(f"COPY into {table.name}", None, exc) from exc
        raise


async def fetchrow(conn: AsyncConnection, sql: str, args: Sequence[Any]) -> Any:
    """One statement straight on asyncpg (its own prepared-statement cache), inside `conn`'s transaction.

    For a hot statement: SQLAlchemy's execute costs more client time than the round trip. What SQLAlchemy would
    do around it is done here: the transaction is begun (SQLAlchemy begins lazily, on the first statement), and a
    unique violation comes out as an IntegrityError; other driver errors keep their SQLSTATE (is_transient,
    is_bad_data read it).
    """
    raw = await _begin_on_server(conn)
    try:
        return await raw.driver_connection.fetchrow(sql, *args)  # type: ignore[union-attr]
    except Exception as exc:
        if type(exc).__name__ == "UniqueViolationError":
            raise IntegrityError(sql, args, exc) from exc
        raise


class Row(asyncpg.Record):  # type: ignore[misc]
    """A row `fetch` read: by name (`row["n"]`, the fast way in a loop over thousands) or as an attribute
    (`row.n`), as a SQLAlchemy row is read."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


_ASYNCPG = asyncpg_dialect()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=1024)
def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` with its `:name` parameters as asyncpg's `$1`…`$n`, and the names in that order: SQLAlchemy's own
    compilation of `text(sql)` for asyncpg, so a statement binds as it did through SQLAlchemy (a name used twice
    is one parameter; `x::type` is a cast)."""
    compiled = text(sql).compile(dialect=_ASYNCPG)
    return compiled.string, tuple(compiled.positiontup or ())


async def fetch(conn: AsyncConnection, sql: str, params: Mapping[str, Any]) -> list[Row]:
    """Every row of `sql` (with `:name` parameters), read straight on asyncpg inside `conn`'s transaction.

    For a statement that answers tens of thousands of rows: SQLAlchemy's result costs three times the driver's
    own reading of them (measured: 50,000 rows, 205 ms against 66 ms), and its rows' attributes more again.
    """
    query, names = positional(sql)
    raw = await _begin_on_server(conn)
    driver: Any = raw.driver_connection
    rows: list[Row] = await driver.fetch(query, *[params[n] for n in names], record_class=Row)
    return rows


async def _begin_on_server(conn: AsyncConnection) -> PoolProxiedConnection:
    """What SQLAlchemy does before a statement, for one sent on asyncpg directly: begin (SQLAlchemy's transaction
    and the server's BEGIN, as its asyncpg adapter sends before the first statement), then a held-back write."""
    if not conn.in_transaction():
        await conn.begin()  # as autobegin would: the caller's commit() then commits this statement
    raw = _raw(conn)
    adapter: Any = raw.dbapi_connection
    write = conn.info.pop(_HELD, None)
    if write is not None:
        await _in_transaction(adapter, write)
    elif adapter._transaction is None:
        await adapter._start_transaction()
    return raw


def _with_json(record: tuple[Any, ...], positions: list[int]) -> tuple[Any, ...]:
    values = list(record)
    for i in positions:
        values[i] = _json(values[i])
    return tuple(values)


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
