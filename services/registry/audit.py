"""The registry's audit trail: every read and change of a person's file, and every refused or failed attempt.

The table and its writing are the kernel's (shared/runtime/audit.py); here are the registry's uses of them.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.registry.tables import persons
from shared.runtime.audit import record, record_shown, refusals_audited
from shared.runtime.auth import Principal

__all__ = ["attempt", "record", "record_shown"]


async def _commune_of(conn: AsyncConnection, person_id: str) -> str | None:
    return await conn.scalar(select(persons.c.commune_code).where(persons.c.person_id == person_id))


def attempt(
    engine: AsyncEngine, who: Principal, action: str, person_id: str | None = None
) -> AbstractAsyncContextManager[None]:
    """Around one request: a 403, 404, 409 or 429 leaves an entry with its reason, under the person's commune."""
    return refusals_audited(engine, who, action, person_id, _commune_of)
