"""Writing plans: one plan per (year, unit), checked against its parent's and its children's quotas."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from services.quotas.domain.events import PLAN_EVENTS, Target
from services.quotas.domain.plan import Allocation, Plan, check_children_fit, plan_stream
from services.quotas.hierarchy import REFORM_YEAR, unit_for_year
from services.quotas.projection import SqlPlanViews
from shared.kernel.clock import today
from shared.kernel.repository import EventStorePort, Repository
from shared.kernel.uow import UnitOfWork
from shared.runtime.auth import Principal, Role, in_scope, refuse_if_abolished, require_scope
from shared.runtime.errors import Forbidden
from shared.vn.units import NATIONAL, AdminUnits

WRITERS = {Role.DISTRICT_OFFICER, Role.PROVINCE_OFFICER, Role.ADMIN}


class PlanViews(Protocol):
    """The plans a write reads and keeps current (PostgreSQL: projection.SqlPlanViews; tests: in memory)."""

    async def lock(self, conn: Any, year: int, families: Iterable[str]) -> None: ...

    async def plan(self, conn: Any, year: int, unit_code: str) -> Allocation | None: ...

    async def children(self, conn: Any, year: int, parent: str) -> list[Allocation]: ...

    async def project(self, conn: Any, plan: Plan, parent: str | None, name: str, level: str) -> None: ...


def require_plan_scope(who: Principal, units: AdminUnits, unit_code: str, year: int) -> None:
    """The area check of a plan write, in the hierarchy of the plan's year.

    A plan to 2025 names the units of that time and stays as issued; its writers are checked as before. From
    2026 a plan names today's units only (a province sets its communes' quotas directly): the unit must lie in
    the writer's area in today's catalogue, and an account of a unit the reorganisation abolished writes no such
    plan (a 403 that names the units that took over).
    """
    if year <= REFORM_YEAR:
        require_scope(who, unit_code, units)
        return
    first_day = date(year, 1, 1)
    refuse_if_abolished(who, units, first_day)
    if not in_scope(who, unit_code, units, first_day):
        raise Forbidden(f"unit {unit_code} is outside your area ({who.unit})")


@dataclass(frozen=True)
class Written:
    plan: Plan
    outcome: str  # "created", "revised" or "unchanged"


@dataclass
class Plans:
    """The quotas service's application service."""

    store: EventStorePort
    units: AdminUnits
    views: PlanViews = field(default_factory=SqlPlanViews)
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
        require_plan_scope(who, self.units, unit_code, year)
        parent = unit.parent if unit.parent and unit.parent != NATIONAL else None
        conn = uow.conn
        await self.views.lock(conn, year, {unit_code, parent or unit_code})  # the writes that could break the same sums
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
        await self.views.project(conn, plan, parent, unit.name, unit.level)
        return Written(plan, "created" if plan.revision == 1 else "revised")

    async def _check_hierarchy(
        self, conn: Any, year: int, unit_code: str, name: str, parent: str | None, quotas: dict[str, int]
    ) -> None:
        children = await self.views.children(conn, year, unit_code)
        check_children_fit(unit_code, name, quotas, children)
        if parent is None:
            return
        parent_plan = await self.views.plan(conn, year, parent)
        if parent_plan is None:
            return
        siblings = [c for c in await self.views.children(conn, year, parent) if c.unit_code != unit_code]
        check_children_fit(
            parent, parent_plan.name, parent_plan.quotas, [*siblings, Allocation(unit_code, name, quotas)]
        )
