"""The audit trail: every read of a person's file and every change, with who and when. Append-only in the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.tables import audit_log
from shared.auth import Principal
from shared.logs import current_correlation_id


async def record(
    conn: AsyncConnection,
    who: Principal,
    action: str,
    person_id: str | None = None,
    unit_code: str | None = None,
    **detail: Any,
) -> None:
    """Write one audit entry inside the caller's transaction (no read or change without its entry)."""
    await conn.execute(
        audit_log.insert().values(
            at=datetime.now(UTC),
            sub=who.sub,
            role=who.role.value,
            unit=who.unit,
            action=action,
            person_id=person_id,
            unit_code=unit_code,
            detail=detail,
            correlation_id=current_correlation_id(),
        )
    )
