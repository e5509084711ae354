"""The area check in time for lists and searches, in SQL: the same rule as `auth.sees`, over read-model columns.

A read model that holds a unit code keeps the code as recorded (`code`), the unit responsible for it today
(`now`: `AdminUnits.unit_now` of the code and the date it was recorded) and that date (`on`). An account of
today's units sees the rows whose unit now lies in the asked unit's subtree, and the commune police of a split
commune's candidate successors its people too (to assign them); an account of an abolished unit sees the rows
recorded inside it before 2025-07-01.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, true

from shared.runtime.auth import Principal, Role
from shared.runtime.errors import Forbidden
from shared.vn.units import REFORM_DATE, AdminUnits

LAST_DAY_BEFORE = REFORM_DATE - timedelta(days=1)  # the 2024 edition's last day


def asked_unit_in_area(who: Principal, units: AdminUnits, unit: str) -> bool:
    """May `who` ask for the records of `unit` (its own unit or one inside it, in the edition it works in)?"""
    if units.is_current(who.unit):
        return units.is_current(unit) and units.within_now(unit, who.unit)
    return units.is_within(unit, who.unit, LAST_DAY_BEFORE)


def area_conditions(who: Principal, units: AdminUnits, unit: str | None, *, code: Any, now: Any, on: Any) -> list[Any]:
    """SQL conditions restricting rows to `unit` (default: the caller's), which must be in the caller's area (403)."""
    asked = unit or who.unit
    if not asked_unit_in_area(who, units, asked):
        raise Forbidden(f"unit {asked} is outside your area ({who.unit})")
    if not units.is_current(who.unit):
        then = units.subtree_then(asked)
        return [on < REFORM_DATE, *([] if then is None else [code.in_(sorted(then))])]
    subtree = units.subtree_now(asked)
    condition: Any = true() if subtree is None else now.in_(sorted(subtree))
    if who.role == Role.COMMUNE_POLICE and asked == who.unit:
        split = units.split_predecessors(who.unit)
        if split:
            condition = or_(condition, and_(code.in_(sorted(split)), on < REFORM_DATE))
    return [condition]


def codes_in_area(who: Principal, units: AdminUnits, unit: str | None = None) -> frozenset[str] | None:
    """Unit codes of rows that keep a record's code but not when it was recorded (audit entries, moves), in `unit`
    (default: the caller's, which it must be in: 403): today's units and the old ones mapped into them; for an
    abolished unit's account, the codes of its time. None: the whole country."""
    asked = unit or who.unit
    if not asked_unit_in_area(who, units, asked):
        raise Forbidden(f"unit {asked} is outside your area ({who.unit})")
    if units.is_current(who.unit):
        return units.codes_now_within(asked)
    return units.subtree_then(asked)
