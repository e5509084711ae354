"""Every indicator of DOMAIN.md for a unit's subtree and a period, by the legal dates of the events."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.facts import Facts
from services.reporting.hierarchy import Scope, area
from services.reporting.periods import Period, age_band

MODALITIES = ("compulsory", "voluntary_community", "voluntary_facility", "methadone")


def _valid_at(table: str, key: str, column: str) -> str:
    """`column` of the rows of a dated child `table` valid on :d: per `key`, the last one from on or before it."""
    return (
        f"SELECT DISTINCT ON ({key}) {key}, {column} FROM {table} WHERE valid_from <= :d"
        f" ORDER BY {key}, valid_from DESC, version DESC"
    )


def _unit_at(table: str, key: str) -> str:
    """The commune of each row of `table` (residences, case_units) on :d, and the day it was recorded from."""
    return _valid_at(table, key, "commune_code, valid_from AS unit_from")


def _area(alias: str) -> str:
    """The scope condition on a unit CTE `alias` (cu, pu): its commune as recorded from its date (hierarchy.py)."""
    return area(f"{alias}.commune_code", f"{alias}.unit_from")


class Figures:
    """SQL over one generation's facts."""

    def __init__(self, conn: AsyncConnection, f: Facts) -> None:
        self.conn, self.g = conn, f"g{f.generation}_"

    async def _rows(self, sql: str, **params: Any) -> list[Any]:
        return list(await self.conn.execute(text(sql.replace("{g}", self.g)), params))

    async def enrolments_by_commune(self, p: Period) -> list[Any]:
        return await self._rows(
            "SELECT enrolled_commune AS commune, started_on, modality, sex, birth_year FROM {g}cases"
            " WHERE started_on BETWEEN :s AND :e ORDER BY case_id",
            s=p.start,
            e=p.end,
        )

    async def completers(self, p: Period, scope: Scope) -> list[Any]:
        return await self._rows(
            f"WITH cu AS ({_unit_at('{g}case_units', 'case_id')})"
            " SELECT c.case_id, c.person_id, c.modality, c.completed_on, c.post_rehab_decided_on,"
            " cu.commune_code, cu.unit_from"
            " FROM {g}cases c JOIN cu USING (case_id) WHERE c.completed_on BETWEEN :s AND :e AND "
            + _area("cu")
            + " ORDER BY c.completed_on, c.case_id",
            s=p.start,
            e=p.end,
            d=p.end,
            **scope.params(),
        )

    async def on_record(self, p: Period, scope: Scope) -> list[Any]:
        """People on record at the period's end, with whether they received a service during it."""
        return await self._rows(
            f"WITH pu AS ({_unit_at('{g}residences', 'person_id')})"
            " SELECT p.person_id, p.sex, p.birth_year, p.status, pu.commune_code, pu.unit_from,"
            " EXISTS (SELECT 1 FROM {g}cases c WHERE c.person_id = p.person_id AND c.started_on <= :e"
            "   AND (c.closed_on IS NULL OR c.closed_on >= :s)) AS served"
            " FROM {g}persons p JOIN pu USING (person_id)"
            " WHERE p.registered_on <= :e AND (p.closed_on IS NULL OR p.closed_on > :e) AND "
            + _area("pu")
            + " ORDER BY p.person_id",
            s=p.start,
            e=p.end,
            d=p.end,
            **scope.params(),
        )

    async def mobilisation(self, p: Period, scope: Scope) -> tuple[int, int]:
        """(addicts on record and in no programme at the period's start, those of them who then enrolled)."""
        rows = await self._rows(
            f"WITH pu AS ({_unit_at('{g}residences', 'person_id')})"
            " SELECT EXISTS (SELECT 1 FROM {g}cases c WHERE c.person_id = p.person_id"
            "   AND c.started_on BETWEEN :s AND :e) AS enrolled"
            " FROM {g}persons p JOIN pu USING (person_id)"
            " WHERE p.registered_on < :s AND p.addict_on < :s AND (p.closed_on IS NULL OR p.closed_on >= :s)"
            " AND NOT EXISTS (SELECT 1 FROM {g}cases c WHERE c.person_id = p.person_id AND c.started_on < :s"
            "   AND (c.closed_on IS NULL OR c.closed_on >= :s)) AND " + _area("pu"),
            s=p.start,
            e=p.end,
            d=p.start,
            **scope.params(),
        )
        return len(rows), sum(1 for r in rows if r.enrolled)

    async def active_methadone(self, on: date, scope: Scope) -> int:
        rows = await self._rows(
            f"WITH cu AS ({_unit_at('{g}case_units', 'case_id')})"
            " SELECT count(*) AS n FROM {g}cases c JOIN cu USING (case_id) WHERE c.modality = 'methadone'"
            " AND c.started_on <= :d AND (c.completed_on IS NULL OR c.completed_on > :d)"
            " AND (c.closed_on IS NULL OR c.closed_on > :d) AND " + _area("cu"),
            d=on,
            **scope.params(),
        )
        return int(rows[0].n)

    async def absconders(self, on: date, scope: Scope) -> list[Any]:
        return await self._rows(
            f"WITH cu AS ({_unit_at('{g}case_units', 'case_id')})"
            " SELECT a.case_id, c.person_id, c.modality, cu.commune_code, cu.unit_from, a.absconded_on"
            " FROM {g}abscondments a JOIN {g}cases c USING (case_id) JOIN cu USING (case_id)"
            " WHERE a.absconded_on <= :d AND (a.returned_on IS NULL OR a.returned_on > :d)"
            " AND (c.closed_on IS NULL OR c.closed_on > :d) AND " + _area("cu") + " ORDER BY a.absconded_on, a.case_id",
            d=on,
            **scope.params(),
        )

    async def awaiting_decision(self, on: date, scope: Scope) -> list[Any]:
        return await self._rows(
            f"WITH cu AS ({_unit_at('{g}case_units', 'case_id')})"
            " SELECT c.case_id, c.person_id, c.modality, cu.commune_code, cu.unit_from, c.completed_on FROM {g}cases c"
            " JOIN cu USING (case_id) WHERE c.completed_on <= :d"
            " AND (c.post_rehab_decided_on IS NULL OR c.post_rehab_decided_on > :d)"
            " AND (c.closed_on IS NULL OR c.closed_on > :d) AND " + _area("cu") + " ORDER BY c.completed_on, c.case_id",
            d=on,
            **scope.params(),
        )

    async def ending_post_rehab(self, on: date, until: date, scope: Scope) -> list[Any]:
        return await self._rows(
            f"WITH cu AS ({_unit_at('{g}case_units', 'case_id')})"
            " SELECT c.case_id, c.person_id, c.modality, cu.commune_code, cu.unit_from, c.post_rehab_ends_on"
            " FROM {g}cases c"
            " JOIN cu USING (case_id) WHERE c.post_rehab_decided_on <= :d AND c.post_rehab_ends_on <= :u"
            " AND (c.closed_on IS NULL OR c.closed_on > :d) AND "
            + _area("cu")
            + " ORDER BY c.post_rehab_ends_on, c.case_id",
            d=on,
            u=until,
            **scope.params(),
        )

    async def overrunning(self, on: date, scope: Scope) -> list[Any]:
        """Cases in treatment on `on` past their planned end valid on `on` (folded with shared/vn/rulebook.py).

        A case absconded on `on` is not overrunning: its clock has stopped.
        """
        return await self._rows(
            f"WITH cu AS ({_unit_at('{g}case_units', 'case_id')}),"
            f" pe AS ({_valid_at('{g}case_planned_ends', 'case_id', 'planned_end')})"
            " SELECT c.case_id, c.person_id, c.modality, cu.commune_code, cu.unit_from, pe.planned_end FROM {g}cases c"
            " JOIN pe USING (case_id) JOIN cu USING (case_id)"
            " WHERE pe.planned_end < :d AND (c.completed_on IS NULL OR c.completed_on > :d)"
            " AND (c.closed_on IS NULL OR c.closed_on > :d) AND NOT EXISTS (SELECT 1 FROM {g}abscondments a"
            "   WHERE a.case_id = c.case_id AND a.absconded_on <= :d AND (a.returned_on IS NULL OR a.returned_on > :d))"
            " AND " + _area("cu") + " ORDER BY pe.planned_end, c.case_id",
            d=on,
            **scope.params(),
        )

    async def plan(self, year: int, unit_code: str) -> Any:
        rows = await self._rows(
            "SELECT quotas, targets FROM {g}plans WHERE year = :y AND unit_code = :u", y=year, u=unit_code
        )
        return rows[0] if rows else None

    async def plans_of(self, year: int) -> dict[str, Any]:
        return {
            r.unit_code: r
            for r in await self._rows(
                "SELECT unit_code, quotas, targets FROM {g}plans WHERE year = :y ORDER BY unit_code", y=year
            )
        }


def breakdown(rows: list[Any], on: date, *keys: str) -> list[dict[str, Any]]:
    """Counts of `rows` by the given keys (sex, age_band, modality, status), sorted for stable output."""
    counts: Counter[tuple[str, ...]] = Counter()
    for r in rows:
        counts[tuple(_key(r, k, on) for k in keys)] += 1
    return [{**dict(zip(keys, key, strict=True)), "count": n} for key, n in sorted(counts.items())]


def _key(row: Any, key: str, on: date) -> str:
    if key == "age_band":
        return age_band(row.birth_year, on)
    return str(getattr(row, key, None) or "unknown")
