"""Reading plans: a unit's plan beside its children's quotas and their sums, and a plan's history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.quotas.domain.events import PLAN_EVENTS, PlanIssued, PlanRevised
from services.quotas.domain.plan import plan_stream
from services.quotas.hierarchy import REFORM_YEAR, unit_for_year
from services.quotas.tables import plans
from shared.kernel.eventstore import EventStore
from shared.runtime.auth import Principal, in_scope
from shared.runtime.errors import Forbidden, NotFound
from shared.vn.units import REFORM_DATE, AdminUnits, UnknownUnitError

BEFORE_REFORM = REFORM_DATE - timedelta(days=1)


def may_read(units: AdminUnits, who: Principal, unit_code: str, year: int) -> bool:
    """Everyone in the plan's subtree reads it, and so do the units above it.

    A plan of 2024 or 2025 issued for a unit the reorganisation abolished stays readable by the units of today
    that inherit it: those its records map to now (province 24 reads Huyện Sơn Động's plans, Xã Sơn Động the
    plan of Xã An Bá, merged into it) and the communes that took over part of its area (Xã Sơn Động reads the
    plan of Huyện Sơn Động, with its predecessors' rows).
    """
    if units.is_within(who.unit, unit_code) or in_scope(who, unit_code, units):
        return True
    if year > REFORM_YEAR or not units.is_current(who.unit) or not units.exists(unit_code, BEFORE_REFORM):
        return False
    return who.unit in heirs(units, unit_code) or (
        (now := unit_now(units, unit_code)) is not None and units.within_now(now, who.unit)
    )


def heirs(units: AdminUnits, old_code: str) -> set[str]:
    """Today's units that took over an old unit's area (empty when the catalogue maps it nowhere)."""
    try:
        return {u.code for u in units.successor_units(old_code)}
    except (KeyError, UnknownUnitError):
        return set()


def unit_now(units: AdminUnits, old_code: str) -> str | None:
    """Today's unit responsible for what was recorded under the 2024 unit `old_code` (None if none is known)."""
    try:
        return units.unit_now(old_code, BEFORE_REFORM)
    except (KeyError, UnknownUnitError):
        return None


async def plan_with_children(
    conn: AsyncConnection, units: AdminUnits, who: Principal, year: int, unit_code: str
) -> dict[str, Any]:
    if not may_read(units, who, unit_code, year):
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
        "unit_name": own.unit_name if own else unit_for_year(units, unit_code, year).name,
        "plan": _plan(own, units, year) if own else None,
        "children": [_plan(c, units, year) for c in children],
        "children_totals": sums,
        "unallocated": {m: q - sums.get(m, 0) for m, q in quotas.items()},
    }


async def history(
    conn: AsyncConnection, store: EventStore, units: AdminUnits, who: Principal, year: int, unit_code: str
) -> list[dict[str, Any]]:
    if not may_read(units, who, unit_code, year):
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


def _plan(row: Any, units: AdminUnits, year: int) -> dict[str, Any]:
    """A plan row; one of a former unit (a plan to 2025) says which unit of today took it over (`unit_now`)."""
    inherited: dict[str, Any] = {}
    if year <= REFORM_YEAR and units.exists(row.unit_code, BEFORE_REFORM):
        inherited = {"unit_now": unit_now(units, row.unit_code)}
    return {
        "unit_code": row.unit_code,
        "unit_name": row.unit_name,
        "level": row.level,
        "revision": row.revision,
        "document_number": row.document_number,
        "document_date": row.document_date,
        "quotas": row.quotas,
        "targets": row.targets,
        **inherited,
    }
