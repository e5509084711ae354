"""The reports: quota progress, post-rehab coverage, indicators with targets and status, the periodic report."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.facts import Facts
from services.reporting.hierarchy import BEFORE_REFORM, Hierarchy, Scope, forward, hierarchy_of
from services.reporting.indicators import MODALITIES, Figures, breakdown, decided, tally, together
from services.reporting.periods import Period
from services.reporting.rules import DECISION_DUE, ENDING_NOTICE, Deadlines, deadlines, rules_used
from shared.vn.rulebook import in_force
from shared.vn.units import NATIONAL, REFORM_DATE, AdminUnits, Edition, UnknownUnitError

QUOTA_INDICATOR = {m: f"{m}_rehab_enrolments" for m in ("compulsory", "voluntary_community", "voluntary_facility")}
QUOTA_INDICATOR["methadone"] = "methadone_enrolments"
QuotaOf = Callable[[str], dict[str, int] | None]


@dataclass(frozen=True)
class YearPlans:
    """A year's plans by unit code, the modalities they set quotas for, and each unit's quotas today."""

    plans: dict[str, Any]
    modalities: tuple[str, ...]
    mapped: QuotaOf


# The year's plans as last read, by `Figures.plans_version` and year: every report of quota progress needs all of
# the year's plans (3,355 for the country) mapped onto today's units, and they change a few times a year. A new
# version (a plan event folded, a rebuilt generation) is read afresh.
_PLANS: OrderedDict[tuple[Any, ...], YearPlans] = OrderedDict()
_PLANS_KEPT = 8


class Reports:
    """Reports for one unit's subtree, computed from one generation of facts."""

    def __init__(
        self,
        conn: AsyncConnection,
        f: Facts,
        units: AdminUnits,
        rules: tuple[Deadlines, ...] | None = None,
        figures: type[Figures] = Figures,
        lanes: Sequence[AsyncConnection] = (),
    ) -> None:
        """`figures`: `Nationwide` for a caller that asks for every unit of the country in turn (the gauges).
        `lanes`: more connections in `conn`'s snapshot, for the statements a report runs side by side."""
        self.figures, self.units, self.rules = figures(conn, f, lanes), units, rules or deadlines()
        self.forward = forward(units)
        self._overdue: dict[tuple[date, date], int] = {}

    def overdue(self, completed_on: date, on: date) -> int:
        """Days past the deadline for a post-rehab decision, by the rules in force on `on` (0 within it).

        Counted once per pair of days: a deadline in working days walks the calendar day by day, and a national
        list has tens of thousands of completers over a few hundred days.
        """
        days = self._overdue.get((completed_on, on))
        if days is None:
            due = in_force(self.rules, on).post_rehab_decision_due(completed_on)
            days = self._overdue[(completed_on, on)] = max((on - due).days, 0)
        return days

    def scope(self, unit_code: str, hierarchy: Hierarchy) -> Scope:
        """The recorded codes inside `unit_code` in the hierarchy: then (2024), or mapped forward (2025)."""
        return self.forward.scope(unit_code, hierarchy)

    def name(self, unit_code: str, hierarchy: Hierarchy) -> str:
        """The unit's name in the hierarchy the report uses (07615 is Thị trấn An Châu in 2024, Xã Sơn Động now)."""
        if unit_code == NATIONAL:
            return "Việt Nam"
        editions: tuple[Edition, ...] = (hierarchy.edition, "2024", "2025")
        for edition in editions:
            try:
                return self.units.get(unit_code, edition=edition).name
            except UnknownUnitError:
                continue
        return unit_code

    def mapped(self, row: Any, hierarchy: Hierarchy) -> dict[str, Any]:
        """A listed record's unit today, beside the unit it was recorded under, in a report mapped forward."""
        if not hierarchy.mapped_forward:
            return {}
        return {"unit_now": self.forward.now(row["commune_code"], row["unit_from"])}

    async def quota_progress(self, year: int, unit_code: str, hierarchy: Hierarchy | None = None) -> dict[str, Any]:
        """Per child unit and in total: quota, achieved (enrolments by legal date in the year), ratio.

        The year's hierarchy by default: to 2024 the three-level one, the plans as issued; from 2025 today's
        units, each plan counted in the unit that took over the unit it was issued for (`_mapped_quotas`), and
        each enrolment in the unit its record belongs to today.
        """
        period = Period(str(year), date(year, 1, 1), date(year, 12, 31))
        h = hierarchy or hierarchy_of(period.start, period.end)
        scope = self.scope(unit_code, h)
        enrolments = await self.figures.enrolments_by_commune(period, scope)  # a child's codes are its parent's
        year_plans = await self._year_plans(year)
        plans, modalities = year_plans.plans, list(year_plans.modalities)
        quota_of = self._quotas_then(plans) if h.edition == "2024" else year_plans.mapped
        children = self.units.children(unit_code, h.edition)
        holders = self.forward.children(unit_code, h)
        achieved: list[dict[str, int]] = [dict.fromkeys(modalities, 0) for _ in children]
        total_achieved = dict.fromkeys(modalities, 0)
        for e in enrolments:  # each group of enrolments counted in the children holding it, found once
            modality, commune, started_on, n = e["modality"], e["commune"], e["started_on"], e["n"]
            if modality not in total_achieved:
                continue
            for i in holders.of(commune, started_on):
                achieved[i][modality] += n
            if scope.holds(commune, started_on):
                total_achieved[modality] += n
        rows = []
        for child, counted in zip(children, achieved, strict=True):
            quota = quota_of(child.code)
            if quota is None and not any(counted.values()):
                continue
            rows.append(_progress_row(child.code, child.name, quota or {}, counted, modalities))
        own = quota_of(unit_code)
        total_quota = dict(own) if own is not None else {m: sum(r["quota"][m] or 0 for r in rows) for m in modalities}
        total = _progress_row(unit_code, self.name(unit_code, h), total_quota, total_achieved, modalities)
        return {
            "year": year,
            "unit_code": unit_code,
            "unit_name": total["unit_name"],
            **h.header(),
            "modalities": modalities,
            "units": rows,
            "total": total,
        }

    async def _year_plans(self, year: int) -> YearPlans:
        """The year's plans by unit code, their modalities and `_mapped_quotas` of them: read once per version."""
        key = (*await self.figures.plans_version(), year, id(self.units))
        found = _PLANS.get(key)
        if found is None:
            plans = await self.figures.plans_of(year)
            in_plans = {m for p in plans.values() for m in p.quotas} or {"compulsory", "voluntary_community"}
            modalities = tuple(sorted(in_plans, key=MODALITIES.index))
            found = _PLANS[key] = YearPlans(plans, modalities, self._mapped_quotas(year, plans))
            while len(_PLANS) > _PLANS_KEPT:
                _PLANS.popitem(last=False)
        return found

    def _quotas_then(self, plans: dict[str, Any]) -> Any:
        """A unit's quotas as issued: its own plan of the year."""

        def quota(code: str) -> dict[str, int] | None:
            plan = plans.get(code)
            return None if plan is None else dict(plan.quotas)

        return quota

    def _mapped_quotas(self, year: int, plans: dict[str, Any]) -> QuotaOf:
        """Quotas of today's units from the year's plans: a 2026 plan names today's units already; a 2025 plan,
        issued for a former unit, counts in the unit that took that unit over (a merged commune's in its
        successor, a district's in its province). Under a unit, only the plans with no planned unit above them
        inside it count, so a district's plan and its communes' are never added twice."""
        placed: dict[str, tuple[str, list[str]]] = {}  # planned code -> (its unit now, its planned ancestors)
        within: dict[str, set[str]] = {}  # a unit of today -> the planned codes whose unit now lies inside it
        for code in plans:
            edition: Edition = "2024" if year <= 2025 and self.units.exists(code, BEFORE_REFORM) else "2025"
            now = self.forward.then_now(code) if edition == "2024" else code
            if now is None:
                continue
            try:
                above = self.units.ancestors(code, edition)[1:]
            except (KeyError, UnknownUnitError):
                continue
            placed[code] = (now, [a for a in above if a in plans])
            # the units `within_now(now, unit)` holds for: the country, `now`, and its ancestors if it is current
            holding = self.units.ancestors(now, "2025") if self.units.exists(now, REFORM_DATE) else [now]
            for unit in {NATIONAL, now, *holding}:
                within.setdefault(unit, set()).add(code)

        summed_for: dict[str, dict[str, int] | None] = {}

        def quota(unit: str) -> dict[str, int] | None:
            if unit not in summed_for:
                inside = within.get(unit, set())
                top = [c for c in sorted(inside) if not any(a in inside for a in placed[c][1])]
                summed: dict[str, int] = {}
                for code in top:
                    for modality, n in plans[code].quotas.items():
                        summed[modality] = summed.get(modality, 0) + n
                summed_for[unit] = summed if top else None
            found = summed_for[unit]
            return None if found is None else dict(found)  # the caller's own: the next report reads the same

        return quota

    async def coverage(self, unit_code: str, period: Period) -> dict[str, Any]:
        """Completers in the period, those with a post-rehab decision by its end, and the ones still waiting."""
        h = hierarchy_of(period.start, period.end)
        rows = await self.figures.completers(period, self.scope(unit_code, h))
        covered: list[Any] = []
        waiting: list[Any] = []
        for r in rows:  # one pass: `r not in covered` compared every row with every covered one
            (covered if decided(r, period.end) else waiting).append(r)
        return {
            "unit_code": unit_code,
            "unit_name": self.name(unit_code, h),
            **h.header(),
            "period": period.label,
            "as_of": period.end.isoformat(),
            **rules_used(period.end, DECISION_DUE),
            "completers": len(rows),
            "covered": len(covered),
            "ratio": _ratio(len(covered), len(rows)),
            "by_modality": breakdown(rows, period.end, "modality"),
            "uncovered": self._waiting(waiting, period.end, h),
        }

    async def indicators(self, unit_code: str, period: Period) -> dict[str, Any]:
        h = hierarchy_of(period.start, period.end)
        scope = self.scope(unit_code, h)
        f = self.figures
        (
            inside,
            (quotas, targets),
            (completers, covered),
            people,
            (pool, mobilised),
            methadone,
            absconders,
            awaiting,
        ) = await together(
            f.enrolments(period, scope),
            self._plan_of(period.year, unit_code, h),
            f.completers_count(period, scope),
            f.on_record(period, scope),
            f.mobilisation(period, scope),
            f.active_methadone(period.end, scope),
            f.absconders_count(period.end, scope),
            f.awaiting_count(period.end, scope),
        )
        on_record, served = sum(r.n for r in people), sum(r.n for r in people if r.served)
        values: list[tuple[str, float | None, dict[str, Any]]] = []
        for modality in MODALITIES:
            count = sum(e.n for e in inside if e.modality == modality)
            quota = quotas.get(modality)
            values.append(
                (
                    QUOTA_INDICATOR[modality],
                    count,
                    {"quota": quota, "attainment": _ratio(count, quota) if quota else None},
                )
            )
        values += [
            (
                "post_rehab_management_coverage",
                _ratio(covered, completers),
                {"completers": completers, "covered": covered},
            ),
            (
                "share_of_recorded_users_reaching_services",
                _ratio(served, on_record),
                {"on_record": on_record, "served": served},
            ),
            (
                "share_of_managed_addicts_not_in_treatment_who_register",
                _ratio(mobilised, pool),
                {"addicts_not_in_treatment_at_start": pool, "enrolled": mobilised},
            ),
            ("methadone_patients_maintained", methadone, {"as_of": period.end.isoformat()}),
            ("methadone_patients_at_year_end", methadone, {"as_of": period.end.isoformat()}),
            ("absconders_at_large", absconders, {}),
            ("completers_awaiting_post_rehab_decision", awaiting, {}),
        ]
        out = []
        for name, value, detail in values:
            target = next((t for t in targets if t["indicator"] == name), None)
            if target is None and name.endswith("_enrolments") and detail.get("quota"):
                target = {"indicator": name, "comparison": ">=", "value": detail["quota"]}
            if target is None and name in ("absconders_at_large", "completers_awaiting_post_rehab_decision"):
                target = {"indicator": name, "comparison": "==", "value": 0}
            out.append(
                {
                    "indicator": name,
                    "value": value,
                    "target": target,
                    "status": _status(value, target, period, name),
                    **detail,
                }
            )
        return {
            "unit_code": unit_code,
            "unit_name": self.name(unit_code, h),
            **h.header(),
            "period": period.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "indicators": out,
        }

    async def _plan_of(self, year: int, unit_code: str, h: Hierarchy) -> tuple[dict[str, int], list[Any]]:
        """The quotas and targets a report compares with: the unit's own plan as issued in the three-level
        hierarchy; on today's units, the year's plans mapped forward, with targets only from a plan of the unit itself
        as it is today (a former unit's targets are not moved onto its successor)."""
        if h.edition == "2024":
            plan = await self.figures.plan(year, unit_code)
            return (dict(plan.quotas), list(plan.targets)) if plan else ({}, [])
        scope = self.scope(unit_code, h)  # a plan counted in the unit was issued for a code of its scope
        if scope.everywhere:  # every plan of the year: mapped once per version of them (`_year_plans`)
            year_plans = await self._year_plans(year)
            plans, quotas = year_plans.plans, year_plans.mapped(unit_code) or {}
        else:
            plans = await self.figures.plans_of(year, scope.params()["codes"])
            quotas = self._mapped_quotas(year, plans)(unit_code) or {}
        own = plans.get(unit_code)
        if own is None or (year <= 2025 and self.units.exists(unit_code, BEFORE_REFORM)):
            return quotas, []
        return quotas, list(own.targets)

    async def outstanding(self, unit_code: str, on: date) -> dict[str, Any]:
        h = hierarchy_of(on, on)
        scope = self.scope(unit_code, h)
        notice = timedelta(days=in_force(self.rules, on).post_rehab_ending_notice_days)
        absconders, awaiting, ending, overrun = await together(
            self.figures.absconders(on, scope),
            self.awaiting(unit_code, on),
            self.figures.ending_post_rehab(on, on + notice, scope),
            self.figures.overrunning(on, scope),
        )
        return {
            "as_of": on.isoformat(),
            "unit_code": unit_code,
            "unit_name": self.name(unit_code, h),
            **h.header(),
            **rules_used(on, DECISION_DUE + ENDING_NOTICE),
            "absconders_at_large": self._listed(
                absconders, h, "absconded_on", "absconded_on", ("days_at_large", lambda day: (on - day).days)
            ),
            "awaiting_post_rehab_decision": awaiting,
            "post_rehab_ending_within_30_days": self._listed(  # the contract's name: the span is the rule set's
                ending, h, "post_rehab_ends_on", "ends_on", ("days_left", lambda day: (day - on).days), modality=False
            ),
            "planned_end_passed": self._listed(
                overrun, h, "planned_end", "planned_end", ("days_past", lambda day: (on - day).days)
            ),
        }

    def _listed(
        self,
        rows: list[Any],
        h: Hierarchy,
        column: str,
        key: str,
        days: tuple[str, Callable[[date], int]],
        modality: bool = True,
    ) -> list[dict[str, Any]]:
        """Cases an outstanding list names: each with its date (`column`, listed as `key`), the days `days` counts
        from it, and its unit today in a report mapped forward."""
        days_key, count = days
        listed = []
        for r in rows:
            item = {"case_id": r["case_id"], "person_id": r["person_id"]}
            if modality:
                item["modality"] = r["modality"]
            day = r[column]
            item |= {"commune_code": r["commune_code"], key: day.isoformat(), days_key: count(day)}
            item |= self.mapped(r, h)
            listed.append(item)
        return listed

    async def awaiting(self, unit_code: str, on: date) -> list[dict[str, Any]]:
        """The completers in the unit without a post-rehab decision on `on`, with how long past the deadline."""
        h = hierarchy_of(on, on)
        return self._waiting(await self.figures.awaiting_decision(on, self.scope(unit_code, h)), on, h)

    def _waiting(self, rows: list[Any], on: date, h: Hierarchy) -> list[dict[str, Any]]:
        """Completers without a post-rehab decision on `on`, as coverage and outstanding list them.

        A national list holds some 50,000: the per-row lookups are bound once, not looked up on each row.
        """
        overdue, now = self.overdue, self.forward.now if h.mapped_forward else None
        listed = []
        for r in rows:
            completed, commune = r["completed_on"], r["commune_code"]
            item = {
                "case_id": r["case_id"],
                "person_id": r["person_id"],
                "modality": r["modality"],
                "commune_code": commune,
                "completed_on": completed.isoformat(),
                "days_waiting": (on - completed).days,
                "days_overdue": overdue(completed, on),
            }
            if now is not None:  # as `mapped` adds it
                item["unit_now"] = now(commune, r["unit_from"])
            listed.append(item)
        return listed

    async def periodic(self, unit_code: str, period: Period) -> dict[str, Any]:
        """The 6-month or annual report: indicators, quota progress, coverage, breakdowns, outstanding."""
        h = hierarchy_of(period.start, period.end)
        scope = self.scope(unit_code, h)
        with self.figures.once():  # its parts ask for the same figures: each is read once
            enrolled, on_record, indicators, progress, coverage, outstanding = await together(
                self.figures.enrolments(period, scope),
                self.figures.on_record(period, scope),
                self.indicators(unit_code, period),
                self.quota_progress(period.year, unit_code, h),
                self.coverage(unit_code, period),
                self.outstanding(unit_code, period.end),
            )
            enrolments = [(e, e.n) for e in enrolled]
            people = [(r, r.n) for r in on_record]
            return {
                "report": "periodic",
                **indicators,
                "quota_progress": progress,
                "coverage": coverage,
                "breakdowns": {
                    "enrolments_by_modality_and_sex": tally(enrolments, period.end, "modality", "sex"),
                    "enrolments_by_age_band": tally(enrolments, period.end, "age_band"),
                    "on_record_by_sex": tally(people, period.end, "sex"),
                    "on_record_by_age_band": tally(people, period.end, "age_band"),
                    "on_record_by_status": tally(people, period.end, "status"),
                },
                "outstanding": outstanding,
            }


def _ratio(part: int, whole: int | None) -> float | None:
    return None if not whole else round(part / whole, 4)


def _progress_row(
    code: str, name: str, quota: dict[str, int], achieved: dict[str, int], modalities: list[str]
) -> dict[str, Any]:
    return {
        "unit_code": code,
        "unit_name": name,
        "quota": {m: quota.get(m) for m in modalities},
        "achieved": achieved,
        "ratio": {m: _ratio(achieved[m], quota.get(m)) for m in modalities},
    }


def _status(value: float | None, target: dict[str, Any] | None, period: Period, name: str) -> str | None:
    """met, on_track (a yearly count pro-rated to the period's end) or behind; None without a target."""
    if target is None or value is None:
        return None if target is None else "behind"
    goal, op = float(target["value"]), target["comparison"]
    met = {
        ">=": value >= goal,
        ">": value > goal,
        "==": abs(value - goal) < 1e-9,
        "<=": value <= goal,
        "<": value < goal,
    }[op]
    if met:
        return "met"
    counts = name.endswith("_enrolments") or name == "methadone_patients_at_year_end"
    if counts and op in (">=", ">") and period.share_of_year < 1 and value >= goal * period.share_of_year:
        return "on_track"
    return "behind"
