"""Writing plans: one plan per (year, unit), checked against its parent's and its children's quotas."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.quotas.domain.events import PLAN_EVENTS, Target
from services.quotas.domain.plan import Allocation, Plan, check_children_fit, plan_stream
from services.quotas.hierarchy import unit_for_year
from services.quotas.tables import plans
from shared.kernel.clock import today
from shared.kernel.migrations import lock_key
from shared.kernel.repository import EventStorePort, Repository
from shared.kernel.uow import UnitOfWork
from shared.runtime.auth import Principal, Role, require_scope
from shared.runtime.errors import Forbidden
from shared.vn.units import NATIONAL, AdminUnits

WRITERS = {Role.DISTRICT_OFFICER, Role.PROVINCE_OFFICER, Role.ADMIN}


@dataclass(frozen=True)
class Written:
    plan: Plan
    outcome: str  # "created", "revised" or "unchanged"


@dataclass
class Plans:
    """The quotas service's application service."""

    store: EventStorePort
    units: AdminUnits
    clock: Callable[[], date] = today

    def repository(self, year: int, unit_code: str) -> Repository[Plan]:
        """Plans by stream; a plan's stream is named by its year and unit (plan_stream)."""
        return Repository(
            self.store, lambda _, history: Plan.from_history(year, unit_code, map(PLAN_EVENTS.decode, history))
        )

    async def put(
        self,
        uow: UnitOfWork,
        who: Principal,
        year: int,
        unit_code: str,
        quotas: Mapping[str, int] | None,
        targets: list[Target] | None,
        document_number: str,
        document_date: date | None,
    ) -> Written:
        """Issue or revise a plan; None keeps the current quotas (or targets) as they are."""
        unit = unit_for_year(self.units, unit_code, year)
        if who.role not in WRITERS:
            raise Forbidden(f"role {who.role.value} may not write plans (district or province officers)")
        require_scope(who, unit_code, self.units)
        parent = unit.parent if unit.parent and unit.parent != NATIONAL else None
        conn = uow.conn
        for family in sorted({unit_code, parent or unit_code}):  # the writes that could break the same sums
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(f"plans:{year}:{family}")})
        stream = plan_stream(year, unit_code)
        plan = (await self.repository(year, unit_code).load(uow, stream)).aggregate
        new_quotas = dict(plan.quotas if quotas is None else quotas)
        new_targets = list(plan.targets if targets is None else targets)
        pending = plan.set(new_quotas, new_targets, document_number, document_date, document_date or self.clock())
        if not pending:
            return Written(plan, "unchanged")
        await self._check_hierarchy(conn, year, unit_code, unit.name, parent, new_quotas)
        sealed = await self.repository(year, unit_code).save(uow, stream, plan.version, pending, who.context())
        for env in sealed:
            plan.apply(PLAN_EVENTS.decode(env))
        await self._project(conn, plan, parent, unit.name, unit.level)
        return Written(plan, "created" if plan.revision == 1 else "revised")

    async def _check_hierarchy(
        self, conn: AsyncConnection, year: int, unit_code: str, name: str, parent: str | None, quotas: dict[str, int]
    ) -> None:
        children = await self._children(conn, year, unit_code)
        check_children_fit(unit_code, name, quotas, children)
        if parent is None:
            return
        parent_row = (
            await conn.execute(select(plans).where(plans.c.year == year, plans.c.unit_code == parent))
        ).first()
        if parent_row is None:
            return
        siblings = [c for c in await self._children(conn, year, parent) if c.unit_code != unit_code]
        check_children_fit(
            parent, parent_row.unit_name, parent_row.quotas, [*siblings, Allocation(unit_code, name, quotas)]
        )

    async def _children(self, conn: AsyncConnection, year: int, parent: str) -> list[Allocation]:
        rows = await conn.execute(
            select(plans.c.unit_code, plans.c.unit_name, plans.c.quotas)
            .where(plans.c.year == year, plans.c.parent_code == parent)
            .order_by(plans.c.unit_code)
        )
        return [Allocation(r.unit_code, r.unit_name, r.quotas) for r in rows]

    async def _project(self, conn: AsyncConnection, plan: Plan, parent: str | None, name: str, level: str) -> None:
        row: dict[str, Any] = {
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
        statement = insert(plans).values(row)
        await conn.execute(statement.on_conflict_do_update(index_elements=["year", "unit_code"], set_=row))
