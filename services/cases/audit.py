"""The cases service's audit trail: who read whose cases, and who was refused (shared/runtime/audit.py writes it)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.cases.tables import directory
from shared.runtime.audit import refusals_audited
from shared.runtime.auth import Principal


async def _commune_of(conn: AsyncConnection, person_id: str) -> str | None:
    return await conn.scalar(select(directory.c.commune_code).where(directory.c.person_id == person_id))


def attempt(
    engine: AsyncEngine, who: Principal, action: str, person_id: str | None = None, **detail: Any
) -> AbstractAsyncContextManager[None]:
    """Around one request: a 403, 404, 409 or 429 leaves an entry with its reason, under the person's commune."""
    return refusals_audited(engine, who, action, person_id, _commune_of, **detail)
