"""Reading plans: a unit's plan beside its children's quotas and their sums, and a plan's history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.quotas.domain.events import PLAN_EVENTS, PlanIssued, PlanRevised
from services.quotas.domain.plan import plan_stream
from services.quotas.tables import plans
from shared.kernel.eventstore import EventStore
from shared.runtime.auth import Principal, in_scope
from shared.runtime.errors import Forbidden, NotFound
from shared.vn.units import AdminUnits


def may_read(units: AdminUnits, who: Principal, unit_code: str) -> bool:
    """Everyone in the plan's subtree reads it, and so do the units above it."""
    return units.is_within(who.unit, unit_code) or in_scope(who, unit_code, units)


async def plan_with_children(
    conn: AsyncConnection, units: AdminUnits, who: Principal, year: int, unit_code: str
) -> dict[str, Any]:
    if not may_read(units, who, unit_code):
        raise Forbidden(f"unit {unit_code} is outside your area ({who.unit})")
    own = (await conn.execute(select(plans).where(plans.c.year == year, plans.c.unit_code == unit_code))).first()
    children = (
        await conn.execute(
            select(plans).where(plans.c.year == year, plans.c.parent_code == unit_code).order_by(plans.c.unit_code)
        )
    ).all()
    if own is None and not children:
        raise NotFound(f"no plan for {unit_code} in {year}")
    sums: dict[str, int] = {}
    for child in children:
        for modality, count in child.quotas.items():
            sums[modality] = sums.get(modality, 0) + count
    quotas = own.quotas if own else {}
    return {
        "year": year,
        "unit_code": unit_code,
        "unit_name": own.unit_name if own else units.get(children[0].parent_code, edition=None).name,
        "plan": _plan(own) if own else None,
        "children": [_plan(c) for c in children],
        "children_totals": sums,
        "unallocated": {m: q - sums.get(m, 0) for m, q in quotas.items()},
    }


async def history(
    conn: AsyncConnection, store: EventStore, units: AdminUnits, who: Principal, year: int, unit_code: str
) -> list[dict[str, Any]]:
    if not may_read(units, who, unit_code):
        raise Forbidden(f"unit {unit_code} is outside your area ({who.unit})")
    versions = []
    for env in await store.load(conn, plan_stream(year, unit_code)):
        event = PLAN_EVENTS.decode(env)
        assert isinstance(event, PlanIssued | PlanRevised)
        versions.append(
            {
                "revision": event.revision if isinstance(event, PlanRevised) else 1,
                "event_type": env.event_type,
                "document_number": event.document_number,
                "document_date": event.document_date,
                "quotas": event.quotas,
                "targets": [t.model_dump() for t in event.targets],
                "recorded_at": env.recorded_at,
                "recorded_by": env.actor.model_dump(),
            }
        )
    if not versions:
        raise NotFound(f"no plan for {unit_code} in {year}")
    return versions


def _plan(row: Any) -> dict[str, Any]:
    return {
        "unit_code": row.unit_code,
        "unit_name": row.unit_name,
        "level": row.level,
        "revision": row.revision,
        "document_number": row.document_number,
        "document_date": row.document_date,
        "quotas": row.quotas,
        "targets": row.targets,
    }
