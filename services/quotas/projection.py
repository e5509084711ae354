"""The `plans` read model in PostgreSQL: one row per (year, unit), written in the append's transaction.

The plan commands see it through `PlanViews` (services/quotas/commands.py), so their tests can hold the rows in
memory (tests/support/memory_quotas.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.quotas.domain.plan import Allocation, Plan
from services.quotas.tables import plans
from shared.kernel.migrations import lock_key


class SqlPlanViews:
    """The plans a write checks its quotas against, and the row it keeps current."""

    async def lock(self, conn: AsyncConnection, year: int, families: Iterable[str]) -> None:
        """Serialize the writes that could break the same sums, until the transaction ends (sorted: no deadlock)."""
        for family in sorted(set(families)):
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(f"plans:{year}:{family}")})

    async def plan(self, conn: AsyncConnection, year: int, unit_code: str) -> Allocation | None:
        row = (await conn.execute(select(plans).where(plans.c.year == year, plans.c.unit_code == unit_code))).first()
        return None if row is None else Allocation(row.unit_code, row.unit_name, row.quotas)

    async def children(self, conn: AsyncConnection, year: int, parent: str) -> list[Allocation]:
        rows = await conn.execute(
            select(plans.c.unit_code, plans.c.unit_name, plans.c.quotas)
            .where(plans.c.year == year, plans.c.parent_code == parent)
            .order_by(plans.c.unit_code)
        )
        return [Allocation(r.unit_code, r.unit_name, r.quotas) for r in rows]

    async def project(self, conn: AsyncConnection, plan: Plan, parent: str | None, name: str, level: str) -> None:
        statement = insert(plans).values(row := plan_row(plan, parent, name, level))
        await conn.execute(statement.on_conflict_do_update(index_elements=["year", "unit_code"], set_=row))


def plan_row(plan: Plan, parent: str | None, name: str, level: str) -> dict[str, Any]:
    """The read-model row of a plan's current version."""
    return {
        "year": plan.year,
        "unit_code": plan.unit_code,
        "parent_code": parent,
        "unit_name": name,
        "level": level,
        "revision": plan.revision,
        "version": plan.version,
        "document_number": plan.document_number,
        "document_date": plan.document_date,
        "quotas": plan.quotas,
        "targets": [t.model_dump() for t in plan.targets],
        "updated_at": datetime.now(UTC),
    }
