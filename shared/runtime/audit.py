"""The audit trail a service keeps of who saw or changed a person's data, and who tried and was refused.

Each service has its own `audit_log`. Its migration seals it (deploy/local/postgres/schemas.sql,
`rehab_audit.seal`). After that the table belongs to `audit_owner`, and the service may only INSERT and
SELECT, so nothing the service does can rewrite what it wrote. A refusal is written in a transaction of
its own, because the request's transaction rolls back and would take its audit entries with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from collections.abc import Set as AbstractSet
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, MetaData, Table, Text, func, or_, select, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.base.logs import current_correlation_id
from shared.kernel.db import copy_rows
from shared.kernel.eventstore import ConcurrencyError
from shared.kernel.rules import RuleViolation
from shared.runtime.auth import Principal
from shared.runtime.errors import _RULE_STATUS, AppError  # the one table of a rule's kind to its status


def audit_log_table(metadata: MetaData) -> Table:
    """The audit log's declaration in a service's metadata (its migration seals it: see the module docstring)."""
    return Table(
        "audit_log",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sub", Text, nullable=False),
        Column("role", Text, nullable=False),
        Column("unit", Text, nullable=False),
        Column("action", Text, nullable=False),
        Column("person_id", UUID(as_uuid=False)),
        Column("unit_code", Text),  # the unit of the record concerned: its auditors, and the province's, see it
        Column("detail", JSONB, nullable=False, server_default=text("'{}'")),
        Column("correlation_id", Text),
        Index("audit_by_person", "person_id", "at"),
    )


audit_log = audit_log_table(MetaData())  # what this module reads and writes; the columns are the same everywhere

AUDITED_FAILURES = frozenset({403, 404, 409, 429})
Locate = Callable[[AsyncConnection, str], Awaitable[str | None]]


@dataclass(frozen=True)
class AuditNote:
    """What a refusal's entry says when the generic one would say too little (set as `exc.audit_note`)."""

    action: str
    person_id: str | None
    unit_code: str | None
    detail: dict[str, Any] = field(default_factory=dict)


def entry(
    who: Principal, action: str, person_id: str | None, unit_code: str | None, detail: dict[str, Any]
) -> dict[str, Any]:
    """One row of the trail: who, in which role and unit, did what to whom, when, in which request."""
    return {
        "at": datetime.now(UTC),
        "sub": who.sub,
        "role": who.role.value,
        "unit": who.unit,
        "action": action,
        "person_id": person_id,
        "unit_code": unit_code,
        "detail": detail,
        "correlation_id": current_correlation_id(),
    }


async def record(
    conn: AsyncConnection,
    who: Principal,
    action: str,
    person_id: str | None = None,
    unit_code: str | None = None,
    **detail: Any,
) -> None:
    """Write one entry inside the caller's transaction (no read or change without its entry)."""
    await conn.execute(audit_log.insert().values(entry(who, action, person_id, unit_code, detail)))


async def record_shown(
    conn: AsyncConnection,
    who: Principal,
    action: str,
    shown: Sequence[tuple[str, str, dict[str, Any]]],
    unit_code: str,
    **detail: Any,
) -> None:
    """One entry per record shown, (person_id, their unit, what else to note), so "who saw X?" finds every list.

    A list that showed nobody still gets one entry, without a person, under `unit_code`.
    """
    rows = [entry(who, action, person_id, unit, {**detail, **extra}) for person_id, unit, extra in shown]
    await copy_rows(conn, audit_log, rows or [entry(who, action, None, unit_code, detail)])


async def read_trail(
    conn: AsyncConnection, area: AbstractSet[str] | None, person_id: str | None, page: int, page_size: int
) -> dict[str, Any]:
    """Entries about records in `area` (None: everywhere) or made by callers from it, newest first."""
    conditions: list[Any] = []
    if area is not None:
        codes = sorted(area)
        conditions.append(or_(audit_log.c.unit_code.in_(codes), audit_log.c.unit.in_(codes)))
    if person_id:
        conditions.append(audit_log.c.person_id == person_id)
    entries = [
        {**dict(r._mapping), "at": r.at.isoformat(), "person_id": str(r.person_id) if r.person_id else None}
        for r in await newest_first(conn, audit_log, conditions, page, page_size)
    ]
    return {"items": entries, "page": page, "page_size": page_size}


async def newest_first(
    conn: AsyncConnection, table: Table, conditions: list[Any], page: int, page_size: int
) -> list[Any]:
    """One page of `table`'s audit entries that meet `conditions`, newest first (every trail and list reads so)."""
    rows = await conn.execute(
        select(table).where(*conditions).order_by(table.c.id.desc()).limit(page_size).offset((page - 1) * page_size)
    )
    return list(rows)


def failure_status(exc: BaseException) -> int | None:
    """The HTTP status a handled failure answers with (None for anything else)."""
    if isinstance(exc, AppError):
        return exc.status
    if isinstance(exc, RuleViolation):
        return _RULE_STATUS[exc.kind]
    if isinstance(exc, ConcurrencyError):
        return 409
    return None


@asynccontextmanager
async def refusals_audited(
    engine: AsyncEngine,
    who: Principal,
    action: str,
    person_id: str | None = None,
    locate: Locate | None = None,
    **detail: Any,
) -> AsyncIterator[None]:
    """Enter a refused or failed attempt (403, 404, 409, 429) in the trail with its reason, then let it fail.

    `locate` gives the unit of the person concerned, so the auditors of that person's area see the attempt.
    """
    try:
        yield
    except Exception as exc:
        status = failure_status(exc)
        if status in AUDITED_FAILURES:
            await _enter_refusal(engine, who, action, person_id, locate, exc, {"status": status, **detail})
        raise


async def _enter_refusal(
    engine: AsyncEngine,
    who: Principal,
    action: str,
    person_id: str | None,
    locate: Locate | None,
    exc: Exception,
    detail: dict[str, Any],
) -> None:
    reason = {**detail, "reason": getattr(exc, "code", "stale_version")}
    note = getattr(exc, "audit_note", None)
    async with engine.begin() as conn:
        if isinstance(note, AuditNote):
            await record(conn, who, note.action, note.person_id, note.unit_code, **reason, **note.detail)
            return
        unit = await locate(conn, person_id) if locate and person_id else None
        message = str(getattr(exc, "message", exc))[:300]
        await record(conn, who, f"{action}_refused", person_id, unit, **reason, message=message)
