"""The quotas service's `plans` rows in memory, for application-service tests without PostgreSQL.

The MemoryState (shared/kernel/memory.py) table `plans` holds {(year, unit_code): row}, the row as
services.quotas.projection.plan_row builds it. There is no lock to take: memory transactions conflict on commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.quotas.domain.plan import Allocation, Plan
from services.quotas.projection import plan_row
from shared.kernel.memory import MemoryTransaction


class MemoryPlanViews:
    """What services.quotas.projection.SqlPlanViews reads and writes, as dicts in the memory state."""

    async def lock(self, conn: MemoryTransaction, year: int, families: Iterable[str]) -> None:
        return None

    async def plan(self, conn: MemoryTransaction, year: int, unit_code: str) -> Allocation | None:
        row = conn.state.table("plans").get((year, unit_code))
        return None if row is None else Allocation(row["unit_code"], row["unit_name"], row["quotas"])

    async def children(self, conn: MemoryTransaction, year: int, parent: str) -> list[Allocation]:
        rows = [r for (y, _), r in conn.state.table("plans").items() if y == year and r["parent_code"] == parent]
        rows.sort(key=lambda r: r["unit_code"])
        return [Allocation(r["unit_code"], r["unit_name"], r["quotas"]) for r in rows]

    async def project(self, conn: MemoryTransaction, plan: Plan, parent: str | None, name: str, level: str) -> None:
        conn.state.table("plans")[(plan.year, plan.unit_code)] = plan_row(plan, parent, name, level)
