"""The reports: quota progress, post-rehab coverage, indicators with targets and status, the periodic report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.facts import Facts
from services.reporting.indicators import MODALITIES, Figures, Scope, breakdown
from services.reporting.periods import Period
from services.reporting.rules import DECISION_DUE, ENDING_NOTICE, Deadlines, deadlines, rules_used
from shared.vn.rulebook import in_force
from shared.vn.units import NATIONAL, AdminUnits, Edition, UnknownUnitError

QUOTA_INDICATOR = {m: f"{m}_rehab_enrolments" for m in ("compulsory", "voluntary_community", "voluntary_facility")}
QUOTA_INDICATOR["methadone"] = "methadone_enrolments"


class Reports:
    """Reports for one unit's subtree, computed from one generation of facts."""

    def __init__(
        self, conn: AsyncConnection, f: Facts, units: AdminUnits, rules: tuple[Deadlines, ...] | None = None
    ) -> None:
        self.figures, self.units, self.rules = Figures(conn, f), units, rules or deadlines()

    def overdue(self, completed_on: date, on: date) -> int:
        """Days past the deadline for a post-rehab decision, by the rules in force on `on` (0 within it)."""
        return max((on - in_force(self.rules, on).post_rehab_decision_due(completed_on)).days, 0)

    def scope(self, unit_code: str) -> Scope:
        within = self.units.units_within(unit_code)
        return Scope(None if within is None else sorted(within))

    def name(self, unit_code: str, year: int) -> str:
        if unit_code == NATIONAL:
            return "Việt Nam"
        editions: tuple[Edition, ...] = (_edition(year), "2024", "2025")
        for edition in editions:
            try:
                return self.units.get(unit_code, edition=edition).name
            except UnknownUnitError:
                continue
        return unit_code

    async def quota_progress(self, year: int, unit_code: str) -> dict[str, Any]:
        """Per child unit and in total: quota, achieved (enrolments by legal date in the year), ratio."""
        period = Period(str(year), date(year, 1, 1), date(year, 12, 31))
        enrolments = await self.figures.enrolments_by_commune(period)
        plans = await self.figures.plans_of(year)
        own = plans.get(unit_code)
        modalities = sorted(
            {m for p in plans.values() for m in p.quotas} or {"compulsory", "voluntary_community"}, key=MODALITIES.index
        )
        rows = []
        for child in self.units.children(unit_code, _edition(year)):
            within: frozenset[str] = self.units.units_within(child.code) or frozenset()
            achieved = {m: sum(1 for e in enrolments if e.modality == m and e.commune in within) for m in modalities}
            plan = plans.get(child.code)
            if plan is None and not any(achieved.values()):
                continue
            rows.append(_progress_row(child.code, child.name, plan.quotas if plan else {}, achieved, modalities))
        scope = self.units.units_within(unit_code)
        total_achieved = {
            m: sum(1 for e in enrolments if e.modality == m and (scope is None or e.commune in scope))
            for m in modalities
        }
        total_quota = dict(own.quotas) if own else {m: sum(r["quota"][m] or 0 for r in rows) for m in modalities}
        total = _progress_row(unit_code, self.name(unit_code, year), total_quota, total_achieved, modalities)
        return {
            "year": year,
            "unit_code": unit_code,
            "unit_name": total["unit_name"],
            "modalities": modalities,
            "units": rows,
            "total": total,
        }

    async def coverage(self, unit_code: str, period: Period) -> dict[str, Any]:
        """Completers in the period, those with a post-rehab decision by its end, and the ones still waiting."""
        rows = await self.figures.completers(period, self.scope(unit_code))
        covered = [r for r in rows if r.post_rehab_decided_on is not None and r.post_rehab_decided_on <= period.end]
        waiting = [r for r in rows if r not in covered]
        return {
            "unit_code": unit_code,
            "unit_name": self.name(unit_code, period.year),
            "period": period.label,
            "as_of": period.end.isoformat(),
            **rules_used(period.end, DECISION_DUE),
            "completers": len(rows),
            "covered": len(covered),
            "ratio": _ratio(len(covered), len(rows)),
            "by_modality": breakdown(rows, period.end, "modality"),
            "uncovered": [
                {
                    "case_id": r.case_id,
                    "person_id": r.person_id,
                    "modality": r.modality,
                    "commune_code": r.commune_code,
                    "completed_on": r.completed_on.isoformat(),
                    "days_waiting": (period.end - r.completed_on).days,
                    "days_overdue": self.overdue(r.completed_on, period.end),
                }
                for r in waiting
            ],
        }

    async def indicators(self, unit_code: str, period: Period) -> dict[str, Any]:
        scope = self.scope(unit_code)
        enrolments = await self.figures.enrolments_by_commune(period)
        inside = [e for e in enrolments if scope.codes is None or e.commune in set(scope.codes)]
        plan = await self.figures.plan(period.year, unit_code)
        quotas, targets = (dict(plan.quotas), list(plan.targets)) if plan else ({}, [])
        coverage = await self.coverage(unit_code, period)
        people = await self.figures.on_record(period, scope)
        served = sum(1 for r in people if r.served)
        pool, mobilised = await self.figures.mobilisation(period, scope)
        methadone = await self.figures.active_methadone(period.end, scope)
        absconders = await self.figures.absconders(period.end, scope)
        awaiting = await self.figures.awaiting_decision(period.end, scope)
        values: list[tuple[str, float | None, dict[str, Any]]] = []
        for modality in MODALITIES:
            count = sum(1 for e in inside if e.modality == modality)
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
                coverage["ratio"],
                {"completers": coverage["completers"], "covered": coverage["covered"]},
            ),
            (
                "share_of_recorded_users_reaching_services",
                _ratio(served, len(people)),
                {"on_record": len(people), "served": served},
            ),
            (
                "share_of_managed_addicts_not_in_treatment_who_register",
                _ratio(mobilised, pool),
                {"addicts_not_in_treatment_at_start": pool, "enrolled": mobilised},
            ),
            ("methadone_patients_maintained", methadone, {"as_of": period.end.isoformat()}),
            ("methadone_patients_at_year_end", methadone, {"as_of": period.end.isoformat()}),
            ("absconders_at_large", len(absconders), {}),
            ("completers_awaiting_post_rehab_decision", len(awaiting), {}),
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
            "unit_name": self.name(unit_code, period.year),
            "period": period.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "indicators": out,
        }

    async def outstanding(self, unit_code: str, on: date) -> dict[str, Any]:
        scope = self.scope(unit_code)
        absconders = await self.figures.absconders(on, scope)
        awaiting = await self.figures.awaiting_decision(on, scope)
        notice = timedelta(days=in_force(self.rules, on).post_rehab_ending_notice_days)
        ending = await self.figures.ending_post_rehab(on, on + notice, scope)
        overrun = await self.figures.overrunning(on, scope)
        return {
            "as_of": on.isoformat(),
            **rules_used(on, DECISION_DUE + ENDING_NOTICE),
            "absconders_at_large": [
                {
                    "case_id": r.case_id,
                    "person_id": r.person_id,
                    "modality": r.modality,
                    "commune_code": r.commune_code,
                    "absconded_on": r.absconded_on.isoformat(),
                    "days_at_large": (on - r.absconded_on).days,
                }
                for r in absconders
            ],
            "awaiting_post_rehab_decision": [
                {
                    "case_id": r.case_id,
                    "person_id": r.person_id,
                    "modality": r.modality,
                    "commune_code": r.commune_code,
                    "completed_on": r.completed_on.isoformat(),
                    "days_waiting": (on - r.completed_on).days,
                    "days_overdue": self.overdue(r.completed_on, on),
                }
                for r in awaiting
            ],
            "post_rehab_ending_within_30_days": [  # the contract's name: the span itself is the rule set's
                {
                    "case_id": r.case_id,
                    "person_id": r.person_id,
                    "commune_code": r.commune_code,
                    "ends_on": r.post_rehab_ends_on.isoformat(),
                    "days_left": (r.post_rehab_ends_on - on).days,
                }
                for r in ending
            ],
            "planned_end_passed": [
                {
                    "case_id": r.case_id,
                    "person_id": r.person_id,
                    "modality": r.modality,
                    "commune_code": r.commune_code,
                    "planned_end": r.planned_end.isoformat(),
                    "days_past": (on - r.planned_end).days,
                }
                for r in overrun
            ],
        }

    async def periodic(self, unit_code: str, period: Period) -> dict[str, Any]:
        """The 6-month or annual report: indicators, quota progress, coverage, breakdowns, outstanding."""
        scope = self.scope(unit_code)
        enrolments = [
            e
            for e in await self.figures.enrolments_by_commune(period)
            if scope.codes is None or e.commune in set(scope.codes)
        ]
        people = await self.figures.on_record(period, scope)
        return {
            "report": "periodic",
            **(await self.indicators(unit_code, period)),
            "quota_progress": await self.quota_progress(period.year, unit_code),
            "coverage": await self.coverage(unit_code, period),
            "breakdowns": {
                "enrolments_by_modality_and_sex": breakdown(enrolments, period.end, "modality", "sex"),
                "enrolments_by_age_band": breakdown(enrolments, period.end, "age_band"),
                "on_record_by_sex": breakdown(people, period.end, "sex"),
                "on_record_by_age_band": breakdown(people, period.end, "age_band"),
                "on_record_by_status": breakdown(people, period.end, "status"),
            },
            "outstanding": await self.outstanding(unit_code, period.end),
        }


def _edition(year: int) -> Edition:
    return "2024" if year <= 2025 else "2025"


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
