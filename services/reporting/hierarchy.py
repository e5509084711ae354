"""Which hierarchy a report rolls up on, and which recorded unit codes fall inside a unit of it.

A period that ends before 2025-07-01 rolls up on the three-level catalogue of that time (2024-05-01 edition), with
its names; a period that ends on or after it rolls up province → commune on today's units (2025-07-01 edition),
every record mapped forward to the unit responsible for it today (`AdminUnits.unit_now`). A year that straddles
the reform (2025) reports on the new units and says so in its header.

The mapping is applied on read, never written into the facts: it is a function of the catalogue data and of each
fact's own dated unit (`valid_from`, `commune_code`), so the live projection and a rebuild give the same numbers
and the original unit stays in the record. A fact row's unit is read as `unit_now(commune_code, valid_from)`, with
one addition: a code the reform abolished, recorded on or after 2025-07-01 (a case enrolled later on a person
still filed under the old commune), is mapped forward as if recorded before it, since it can mean nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from shared.vn.units import NATIONAL, REFORM_DATE, AdminUnits, Edition, Unit, UnknownUnitError

OLD_EDITION_DATE = "2024-05-01"  # the catalogue of the three-level hierarchy (shared/vn/data)
NEW_EDITION_DATE = REFORM_DATE.isoformat()
BEFORE_REFORM = REFORM_DATE - timedelta(days=1)


@dataclass(frozen=True)
class Hierarchy:
    """The hierarchy a report uses: `edition` "2024" (province → district → commune) or "2025" (province → commune)."""

    edition: Edition
    straddles: bool = False  # the period starts before the reform and ends after it

    @property
    def mapped_forward(self) -> bool:
        return self.edition == "2025"

    def header(self) -> dict[str, Any]:
        """What a report says about the units it rolls up on."""
        if self.edition == "2024":
            return {
                "hierarchy": OLD_EDITION_DATE,
                "levels": ["province", "district", "commune"],
                "mapped_forward": False,
            }
        if self.straddles:
            note_en = (
                "the period straddles the reorganisation of 2025-07-01: the whole period is reported on today's "
                "units (province, commune), every record made under a former unit counted in the unit that took it over"
            )
            note_vi = (
                "Kỳ báo cáo có cả thời gian trước và sau ngày 01/07/2025 (sắp xếp đơn vị hành chính): số liệu cả kỳ "
                "được tổng hợp theo đơn vị hành chính hiện nay (tỉnh, xã); hồ sơ ghi theo đơn vị cũ được tính cho "
                "đơn vị kế thừa"
            )
        else:
            note_en = (
                "reported on today's units (province, commune): records made under a former unit before "
                "2025-07-01 are counted in the unit that took it over"
            )
            note_vi = (
                "Số liệu tổng hợp theo đơn vị hành chính hiện nay (tỉnh, xã); hồ sơ ghi theo đơn vị cũ trước "
                "ngày 01/07/2025 được tính cho đơn vị kế thừa"
            )
        return {
            "hierarchy": NEW_EDITION_DATE,
            "levels": ["province", "commune"],
            "mapped_forward": True,
            "straddles_reform": self.straddles,
            "hierarchy_note": note_en,
            "hierarchy_note_vi": note_vi,
        }


def hierarchy_of(start: date, end: date) -> Hierarchy:
    """The hierarchy of a period: the one in force on its last day."""
    if end < REFORM_DATE:
        return Hierarchy("2024")
    return Hierarchy("2025", straddles=start < REFORM_DATE)


@dataclass(frozen=True)
class Scope:
    """The recorded unit codes a report covers, by when the unit was recorded (None: the whole country).

    `before`: codes of fact rows valid from before 2025-07-01; `after`: codes of rows valid from on or after it.
    """

    before: frozenset[str] | None
    after: frozenset[str] | None

    @property
    def everywhere(self) -> bool:
        return self.before is None

    def holds(self, code: str, recorded_on: date) -> bool:
        if self.before is None or self.after is None:
            return True
        return code in (self.before if recorded_on < REFORM_DATE else self.after)

    def params(self) -> dict[str, Any]:
        """The bind parameters of `area`: `codes`, every code of either side (the indexes' key), and the codes of one
        side only (`before_only`, `after_only`: a province's 528 codes differ by one)."""
        before, after = self.before or frozenset(), self.after or frozenset()
        return {
            "codes": sorted(before | after),
            "before_only": sorted(before - after),
            "after_only": sorted(after - before),
            "reform": REFORM_DATE,
        }


NATION = Scope(None, None)  # the whole country: no condition on the unit


class Holders:
    """Which of several scopes hold a record: one lookup per record instead of a test per scope and record."""

    def __init__(self, scopes: list[Scope]) -> None:
        self._everywhere = [i for i, s in enumerate(scopes) if s.before is None or s.after is None]
        self._before: dict[str, list[int]] = {}
        self._after: dict[str, list[int]] = {}
        for i, scope in enumerate(scopes):
            for code in scope.before or ():
                self._before.setdefault(code, []).append(i)
            for code in scope.after or ():
                self._after.setdefault(code, []).append(i)

    def of(self, code: str, recorded_on: date) -> list[int]:
        """The indexes of the scopes that hold `code` recorded on `recorded_on` (as `Scope.holds` says)."""
        side = self._before if recorded_on < REFORM_DATE else self._after
        return self._everywhere + side.get(code, [])


def area(col: str, since: str) -> str:
    """The SQL condition: the row's unit `col`, recorded from `since`, lies in the report's scope below the nation
    (`Scope.holds`): one of the scope's codes, of the side before the reform when recorded from a day before it, of
    the side after it from then on.

    Written as what excludes one of the codes (it is of the other side only), the statement carries the scope's
    codes in one array, not three: the server's planner weighs every element of every array it is given, and for a
    province (528 codes) that was 20 ms of planning a statement, as long as most of them took to run.
    """
    return (
        f"({col} = ANY(:codes) AND {since} IS NOT NULL AND NOT (({since} < :reform AND {col} = ANY(:after_only))"
        f" OR ({since} >= :reform AND {col} = ANY(:before_only))))"
    )


class Forward:
    """Every code of the 2024 catalogue mapped to today's unit responsible for its records (computed once)."""

    def __init__(self, units: AdminUnits) -> None:
        self.units = units
        self._now: dict[str, str] = {}
        self._into: dict[str, set[str]] = {}  # today's unit -> the old codes mapped to it
        self._scopes: dict[tuple[str, Edition], Scope] = {}
        self._children: dict[tuple[str, Edition], Holders] = {}
        for code in _codes(units, "2024"):  # the one rule the registry and cases apply too (`unit_now`)
            now = self._now[code] = units.unit_now(code, BEFORE_REFORM)
            self._into.setdefault(now, set()).add(code)

    def then_now(self, code: str) -> str | None:
        """Today's unit of a record made under the 2024 unit `code` before the reform."""
        return self._now.get(code)

    def now(self, code: str, recorded_on: date) -> str | None:
        """Today's unit of a record whose unit was `code` on `recorded_on` (None: no unit of today takes it)."""
        if recorded_on >= REFORM_DATE and self.units.is_current(code):
            return code
        return self._now.get(code)

    def scope(self, code: str, hierarchy: Hierarchy) -> Scope:
        """The unit's scope, computed once per edition (a province's report asks for each of its communes')."""
        key = (code, hierarchy.edition)
        found = self._scopes.get(key)
        if found is None:
            found = self._scopes[key] = self._scope(code, hierarchy.edition)
        return found

    def children(self, code: str, hierarchy: Hierarchy) -> Holders:
        """Which of the unit's children hold a record, computed once per edition: the nation's 34 provinces
        hold every code of both catalogues, a lookup table rebuilt for each national report otherwise."""
        key = (code, hierarchy.edition)
        found = self._children.get(key)
        if found is None:
            kids = self.units.children(code, hierarchy.edition)
            found = self._children[key] = Holders([self.scope(child.code, hierarchy) for child in kids])
        return found

    def _scope(self, code: str, edition: Edition) -> Scope:
        if code == NATIONAL:
            return NATION
        if edition == "2024":
            then = self.units.subtree_then(code) or frozenset()
            return Scope(then, frozenset())
        today = self.units.subtree_now(code) or frozenset()
        old = frozenset(c for unit in today for c in self._into.get(unit, ()))
        return Scope(old, today | {c for c in old if not self.units.is_current(c)})

    def within(self, code: str, recorded_on: date, unit: str) -> bool:
        """True when a record (`code` on `recorded_on`) belongs today to `unit` or a unit below it."""
        now = self.now(code, recorded_on)
        return now is not None and self.units.within_now(now, unit)


def _codes(units: AdminUnits, edition: Edition) -> list[str]:
    found: list[str] = []
    frontier = [u.code for u in units.children(NATIONAL, edition)]
    while frontier:
        code = frontier.pop()
        found.append(code)
        frontier.extend(u.code for u in units.children(code, edition))
    return sorted(found)


@cache
def forward(units: AdminUnits) -> Forward:
    return Forward(units)


def unit_in(units: AdminUnits, code: str, hierarchy: Hierarchy) -> Unit | None:
    """The unit `code` names in the hierarchy (None when it names none there)."""
    try:
        return units.get(code, edition=hierarchy.edition)
    except UnknownUnitError:
        return None
