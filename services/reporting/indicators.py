"""Every indicator of DOMAIN.md for a unit's subtree and a period, by the legal dates of the events."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.facts import Facts
from services.reporting.hierarchy import NATION, Scope, area
from services.reporting.periods import Period, age_band
from shared.kernel.db import fetch

MODALITIES = ("compulsory", "voluntary_community", "voluntary_facility", "methadone")


def _valid_at(table: str, key: str, outer: str, columns: str, lookup: bool = True) -> str:
    """`columns` of `outer`'s row of the dated child `table` valid on :d: the last one from on or before it (by
    valid_from, then version), joined as the alias and condition that follow. No row valid on :d, no row out.

    `lookup`: a LATERAL join, each row of `outer` looking up its own key's few rows (the primary key's index) once
    everything else has filtered it, as a report below the nation wants. Otherwise, the row with
    valid_from <= :d < valid_to, as the fold chains them (fold._chain), in a plain join: the nation's reports hash
    the rows valid on :d once instead of sorting each key's rows. (A unit is read by `_scoped`, not this.)
    """
    if lookup:
        return (
            f" JOIN LATERAL (SELECT {columns} FROM {table} v WHERE v.{key} = {outer}.{key} AND v.valid_from <= :d"
            " ORDER BY v.valid_from DESC, v.version DESC LIMIT 1)"
        )
    return (
        f" JOIN (SELECT v.{key}, {columns} FROM {table} v"
        " WHERE v.valid_from <= :d AND (v.valid_to IS NULL OR v.valid_to > :d))"
    )


def _on(key: str, outer: str, alias: str, lookup: bool) -> str:
    return f" {alias} ON true" if lookup else f" {alias} ON {alias}.{key} = {outer}.{key}"


def _scoped(scope: Scope, sql: str, dated: str, key: str, outer: str, alias: str, unit: bool = True) -> str:
    """`sql`, a statement over `outer` (persons, cases) with `{unit}` where its unit on :d is joined as `alias`
    (commune_code, unit_from: the commune of its row of the dated table `dated` valid on :d, and the day that row is
    valid from) and `{inside}` where the scope's condition on that unit goes. With `unit` False, the whole country
    reads no unit (its `{unit}` is nothing, and `{inside}` true): the caller's conditions say it has one.

    The unit on :d is either the latest one (`latest_commune`, `latest_from`, kept on the row by the fold), when it
    is valid from on or before :d, or else a dated row another one follows, valid on :d: the statement is asked of
    both, as two branches of one. The first reads the unit from the row itself (below the nation, the scope's rows
    found by the index on it); the second, the few moved or transferred since :d, by the index of superseded dated
    rows. The two are disjoint (a superseded row valid on :d means the latest is valid only from after it), so
    every row comes once, with the unit a dated lookup would give it, and no row without a unit on :d comes at all.
    """
    if scope.everywhere and not unit:
        return sql.replace("{unit}", "").replace("{inside}", "TRUE")

    def inside(col: str, since: str) -> str:
        return "" if scope.everywhere else " AND " + area(col, since)

    latest = (
        f" CROSS JOIN LATERAL (SELECT {outer}.latest_commune AS commune_code, {outer}.latest_from AS unit_from) {alias}"
    )
    in_latest = f"{outer}.latest_from <= :d" + inside(f"{outer}.latest_commune", f"{outer}.latest_from")
    superseded = (
        f" JOIN (SELECT v.{key}, v.commune_code, v.valid_from AS unit_from FROM {dated} v"
        " WHERE v.valid_to IS NOT NULL AND v.valid_from <= :d AND v.valid_to > :d"
        f"{inside('v.commune_code', 'v.valid_from')}) {alias} ON {alias}.{key} = {outer}.{key}"
    )
    return (
        f"SELECT * FROM ({sql.replace('{unit}', latest).replace('{inside}', in_latest)}"
        f" UNION ALL {sql.replace('{unit}', superseded).replace('{inside}', 'TRUE')}) q"
    )


def _cases(scope: Scope, sql: str, unit: bool = True) -> str:
    """`_scoped` for a statement over cases (`c`, their unit `cu`)."""
    return _scoped(scope, sql, "{g}case_units", "case_id", "c", "cu", unit)


def _persons(scope: Scope, sql: str) -> str:
    """`_scoped` for a statement over persons (`p`, their residence `pu`). The whole country reads none: a person's
    registration files them from the day registered (fold: `registered_on` and a residence valid from it are set
    together, and residences are never removed), so every caller's `registered_on` on or before :d says that some
    residence is valid on :d already."""
    return _scoped(scope, sql, "{g}residences", "person_id", "p", "pu", unit=False)


class Figures:
    """SQL over one generation's facts.

    Without JIT: a report's statements run in milliseconds to a few hundred, and at the nation's row estimates the
    server compiled them first, at 100 ms to 1.2 s a statement (EXPLAIN ANALYZE, 250,000 people). With 32 MB to
    hash in: the nation's residences (300,000 keys) spilled to disk in 4 batches at the default 4 MB. With lanes,
    without parallel workers: the lanes keep the cores busy already, and the workers' copies of each hash and their
    gathering made the province's indicators 333 → 296 ms and its periodic report 564 → 486 ms (medians, 250,000
    people; the nation's 511 → 452 ms and 2,381 → 2,221 ms). With a random page read costed as about a sequential
    one (1.1, not 4): the facts are read from memory, and at 4 the planner hashed the country's cases to test a
    province's 7,000 people against them (mobilisation: 140 ms) instead of looking each one up (70 ms).
    """

    def __init__(self, conn: AsyncConnection, f: Facts, lanes: Sequence[AsyncConnection] = ()) -> None:
        """`lanes`: more connections reading `conn`'s snapshot (`shared_snapshot`); statements asked together
        (`together`) then run side by side, one per connection, as a province's or the nation's report wants."""
        self.g = f"g{f.generation}_"
        self._idle: asyncio.Queue[AsyncConnection] = asyncio.Queue()
        for c in (conn, *lanes):
            self._idle.put_nowait(c)
        self._set_up: set[int] = set()  # the connections given `_settings` for the transaction
        self._settings = (
            "SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true),"
            " set_config('random_page_cost', '1.1', true)"
        ) + (", set_config('max_parallel_workers_per_gather', '0', true)" if lanes else "")
        self._memo: dict[str, asyncio.Future[list[Any]]] | None = None

    @contextmanager
    def once(self) -> Iterator[None]:
        """Within the block, a statement asked again with the same parameters answers what it answered first.

        For a report made of others (the periodic one repeats the indicators' coverage, people on record and
        outstanding lists): the block reads one snapshot of facts that nothing changes meanwhile.
        """
        self._memo = {}
        try:
            yield
        finally:
            self._memo = None

    async def _rows(self, sql: str, **params: Any) -> list[Any]:
        if self._memo is None:
            return await self._run(sql, params)
        key = f"{sql}\n{sorted(params.items())!r}"
        found = self._memo.get(key)
        if found is None:  # asked again while it runs, it is awaited, not run twice
            found = self._memo[key] = asyncio.ensure_future(self._run(sql, params))
        return list(await found)

    async def _run(self, sql: str, params: dict[str, Any]) -> list[Any]:
        conn = await self._idle.get()  # one statement at a time on each connection
        try:
            if id(conn) not in self._set_up:  # for the rest of the caller's transaction
                await conn.execute(text(self._settings))
                self._set_up.add(id(conn))
            return await fetch(conn, sql.replace("{g}", self.g), params)
        finally:
            self._idle.put_nowait(conn)

    async def enrolments_by_commune(self, p: Period, scope: Scope) -> list[Any]:
        """The period's enrolments recorded under a code of `scope`, counted (`n`) per commune, side of the
        reform and modality; `started_on` is the first day of each group, on the group's side of the reform
        (what `Scope.holds` reads)."""
        inside = "" if scope.everywhere else " AND enrolled_commune = ANY(:codes)"
        return await self._rows(
            "SELECT enrolled_commune AS commune, min(started_on) AS started_on, modality, count(*) AS n"
            " FROM {g}cases WHERE started_on BETWEEN :s AND :e"
            + inside
            + " GROUP BY enrolled_commune, started_on < :reform, modality",
            s=p.start,
            e=p.end,
            **scope.params(),
        )

    async def enrolments(self, p: Period, scope: Scope) -> list[Any]:
        """The period's enrolments in `scope` (by the commune and date they were recorded under), counted (`n`)
        per modality, sex and birth year."""
        inside = "" if scope.everywhere else " AND " + area("enrolled_commune", "started_on")
        return await self._rows(
            "SELECT modality, sex, birth_year, count(*) AS n FROM {g}cases WHERE started_on BETWEEN :s AND :e"
            + inside
            + " GROUP BY modality, sex, birth_year",
            s=p.start,
            e=p.end,
            **scope.params(),
        )

    def _completers(self, scope: Scope) -> str:
        return _cases(
            scope,
            "SELECT c.case_id, c.person_id, c.modality, c.completed_on, c.post_rehab_decided_on,"
            " cu.commune_code, cu.unit_from FROM {g}cases c{unit} WHERE c.completed_on BETWEEN :s AND :e AND {inside}",
        )

    async def completers(self, p: Period, scope: Scope) -> list[Any]:
        return await self._rows(
            f"SELECT * FROM ({self._completers(scope)}) q ORDER BY completed_on, case_id",
            s=p.start,
            e=p.end,
            d=p.end,
            **scope.params(),
        )

    async def completers_count(self, p: Period, scope: Scope) -> tuple[int, int]:
        """(the period's completers, those of them with a post-rehab decision by its end)."""
        if self._memo is not None:  # a report that lists them anyway: counted from its list
            rows = await self.completers(p, scope)
            return len(rows), sum(1 for r in rows if decided(r, p.end))
        row = (
            await self._rows(
                "SELECT count(*) AS n, count(*) FILTER (WHERE q.post_rehab_decided_on <= :e) AS covered"
                f" FROM ({self._completers(scope)}) q",
                s=p.start,
                e=p.end,
                d=p.end,
                **scope.params(),
            )
        )[0]
        return int(row.n), int(row.covered)

    async def on_record(self, p: Period, scope: Scope) -> list[Any]:
        """People on record at the period's end, counted (`n`) by sex, birth year, status and whether they
        received a service during it.

        Served: a case of theirs open during the period. Below the nation, looked up per person (the index on
        cases' person); for the whole country, the period's people served are hashed once and joined, which lets
        the server count the groups in a hash (a sort of 234,000 rows otherwise: 650 → 470 ms at 250,000 people).
        """
        cases = "{g}cases c WHERE c.started_on <= :e AND (c.closed_on IS NULL OR c.closed_on >= :s)"
        if scope.everywhere:
            served = "s.person_id IS NOT NULL"
            unit = f"{{unit}} LEFT JOIN (SELECT DISTINCT c.person_id FROM {cases}) s ON s.person_id = p.person_id"
        else:  # a lookup each, asked as one: for a province's 12,000 people, hashing the country's cases took longer
            served = "s.served IS NOT NULL"
            unit = (
                f"{{unit}} LEFT JOIN LATERAL (SELECT true AS served FROM {cases} AND c.person_id = p.person_id LIMIT 1)"
                " s ON true"
            )
        people = _persons(
            scope,
            f"SELECT p.sex, p.birth_year, p.status, {served} AS served FROM {{g}}persons p{unit}"
            " WHERE p.registered_on <= :e AND (p.closed_on IS NULL OR p.closed_on > :e) AND {inside}",
        )
        return await self._rows(
            f"SELECT sex, birth_year, status, served, count(*) AS n FROM ({people}) q GROUP BY 1, 2, 3, 4",
            s=p.start,
            e=p.end,
            d=p.end,
            **scope.params(),
        )

    async def mobilisation(self, p: Period, scope: Scope) -> tuple[int, int]:
        """(addicts on record and in no programme at the period's start, those of them who then enrolled)."""
        pool = _persons(
            scope,
            "SELECT p.person_id FROM {g}persons p{unit} WHERE p.registered_on < :s AND p.addict_on < :s"
            " AND (p.closed_on IS NULL OR p.closed_on >= :s)"
            " AND NOT EXISTS (SELECT 1 FROM {g}cases c WHERE c.person_id = p.person_id AND c.started_on < :s"
            "   AND (c.closed_on IS NULL OR c.closed_on >= :s)) AND {inside}",
        )
        # the nation's 75,000 people tested against the period's enrolments hashed once; below it, each of its
        # people looked up (a commune's 18 against the country's 25,000 enrolments hashed took 16 ms, looked up 1 ms)
        enrolled = (
            "q.person_id IN (SELECT c.person_id FROM {g}cases c WHERE c.started_on BETWEEN :s AND :e)"
            if scope.everywhere
            else "EXISTS (SELECT 1 FROM {g}cases c WHERE c.person_id = q.person_id AND c.started_on BETWEEN :s AND :e)"
        )
        rows = await self._rows(
            f"SELECT count(*) AS pool, count(*) FILTER (WHERE {enrolled}) AS enrolled FROM ({pool}) q",
            s=p.start,
            e=p.end,
            d=p.start,
            **scope.params(),
        )
        return int(rows[0].pool), int(rows[0].enrolled)

    async def active_methadone(self, on: date, scope: Scope) -> int:
        active = _cases(
            scope,
            "SELECT c.case_id FROM {g}cases c{unit} WHERE c.modality = 'methadone'"
            " AND c.started_on <= :d AND (c.completed_on IS NULL OR c.completed_on > :d)"
            " AND (c.closed_on IS NULL OR c.closed_on > :d) AND {inside}",
            unit=False,  # the nation reads none: a case started by :d has one on :d (enrolment sets both, fold.py)
        )
        rows = await self._rows(
            f"SELECT count(*) AS n FROM ({active}) q",
            d=on,
            **scope.params(),
        )
        return int(rows[0].n)

    def _absconders(self, scope: Scope) -> str:
        return _cases(
            scope,
            "SELECT a.case_id, c.person_id, c.modality, cu.commune_code, cu.unit_from, a.absconded_on"
            " FROM {g}abscondments a JOIN {g}cases c USING (case_id){unit}"
            " WHERE a.absconded_on <= :d AND (a.returned_on IS NULL OR a.returned_on > :d)"
            " AND (c.closed_on IS NULL OR c.closed_on > :d) AND {inside}",
        )

    async def absconders(self, on: date, scope: Scope) -> list[Any]:
        return await self._rows(
            f"SELECT * FROM ({self._absconders(scope)}) q ORDER BY absconded_on, case_id", d=on, **scope.params()
        )

    async def absconders_count(self, on: date, scope: Scope) -> int:
        return await self._count(lambda: self.absconders(on, scope), self._absconders(scope), d=on, **scope.params())

    def _awaiting(self, scope: Scope) -> str:
        return _cases(
            scope,
            "SELECT c.case_id, c.person_id, c.modality, cu.commune_code, cu.unit_from, c.completed_on FROM {g}cases c"
            "{unit} WHERE c.completed_on <= :d"
            " AND (c.post_rehab_decided_on IS NULL OR c.post_rehab_decided_on > :d)"
            " AND (c.closed_on IS NULL OR c.closed_on > :d) AND {inside}",
        )

    async def awaiting_decision(self, on: date, scope: Scope) -> list[Any]:
        return await self._rows(
            f"SELECT * FROM ({self._awaiting(scope)}) q ORDER BY completed_on, case_id", d=on, **scope.params()
        )

    async def awaiting_count(self, on: date, scope: Scope) -> int:
        return await self._count(
            lambda: self.awaiting_decision(on, scope), self._awaiting(scope), d=on, **scope.params()
        )

    async def _count(self, listed: Callable[[], Awaitable[list[Any]]], sql: str, **params: Any) -> int:
        """How many rows `sql` gives, counted by the server: an indicator wants the number, not the 47,000 rows of
        the nation's completers awaiting a decision (fetching them costs more than finding them). A report that
        lists them anyway (`once`) counts its list."""
        if self._memo is not None:
            return len(await listed())
        return int((await self._rows(f"SELECT count(*) AS n FROM ({sql}) q", **params))[0].n)

    async def ending_post_rehab(self, on: date, until: date, scope: Scope) -> list[Any]:
        ending = _cases(
            scope,
            "SELECT c.case_id, c.person_id, c.modality, cu.commune_code, cu.unit_from, c.post_rehab_ends_on"
            " FROM {g}cases c{unit} WHERE c.post_rehab_decided_on <= :d AND c.post_rehab_ends_on <= :u"
            " AND (c.closed_on IS NULL OR c.closed_on > :d) AND {inside}",
        )
        return await self._rows(
            f"SELECT * FROM ({ending}) q ORDER BY post_rehab_ends_on, case_id",
            d=on,
            u=until,
            **scope.params(),
        )

    async def overrunning(self, on: date, scope: Scope) -> list[Any]:
        """Cases in treatment on `on` past their planned end valid on `on` (folded with shared/vn/rulebook.py).

        A case absconded on `on` is not overrunning: its clock has stopped.
        """
        over = _cases(
            scope,
            "SELECT c.case_id, c.person_id, c.modality, cu.commune_code, cu.unit_from, pe.planned_end FROM {g}cases c"
            + _valid_at("{g}case_planned_ends", "case_id", "c", "v.planned_end", not scope.everywhere)
            + _on("case_id", "c", "pe", not scope.everywhere)
            + "{unit} WHERE pe.planned_end < :d AND (c.completed_on IS NULL OR c.completed_on > :d)"
            " AND (c.closed_on IS NULL OR c.closed_on > :d) AND NOT EXISTS (SELECT 1 FROM {g}abscondments a"
            "   WHERE a.case_id = c.case_id AND a.absconded_on <= :d AND (a.returned_on IS NULL OR a.returned_on > :d))"
            " AND {inside}",
        )
        return await self._rows(
            f"SELECT * FROM ({over}) q ORDER BY planned_end, case_id",
            d=on,
            **scope.params(),
        )

    async def plan(self, year: int, unit_code: str) -> Any:
        rows = await self._rows(
            "SELECT quotas, targets FROM {g}plans WHERE year = :y AND unit_code = :u", y=year, u=unit_code
        )
        return rows[0] if rows else None

    async def plans_version(self) -> tuple[Any, ...]:
        """What changes whenever the plans of this generation change: the schema, the generation, and how many
        plan events it has folded (and the last one's time). Read in the report's snapshot, as the plans are."""
        row = (
            await self._rows(
                "SELECT current_schema() AS s, t.events, t.last_event_at"
                " FROM (SELECT 1) one LEFT JOIN {g}topics t ON t.topic = 'quotas'"
            )
        )[0]
        return (row.s, self.g, row.events, row.last_event_at)

    async def plans_of(self, year: int, codes: list[str] | None = None) -> dict[str, Any]:
        """The year's plans by unit code: all of them, or those issued for one of `codes`."""
        only = "" if codes is None else " AND unit_code = ANY(:codes)"
        return {
            r.unit_code: r
            for r in await self._rows(
                "SELECT unit_code, quotas, targets FROM {g}plans WHERE year = :y" + only + " ORDER BY unit_code",
                y=year,
                codes=codes,
            )
        }


class Nationwide(Figures):
    """Figures for many units at once, as the gauges pass wants them for every unit of the country: each list below
    is read once for the whole country, and a unit's is the rows of it inside the unit's scope, as the unit's own
    statement would have answered (same rows, same order).

    A unit's statement keeps the rows whose dated unit lies in its scope (`_scoped`: `area` on the unit valid on
    the day, or the enrolment's commune for `enrolments_by_commune`): that is `Scope.holds` on the same columns, so
    filtering the nation's rows in Python gives the same answer, and 3,355 units cost three statements, not 10,000.
    """

    def __init__(self, conn: AsyncConnection, f: Facts, lanes: Sequence[AsyncConnection] = ()) -> None:
        super().__init__(conn, f, lanes)
        self._by_code: dict[tuple[Any, ...], dict[str, list[tuple[int, Any]]]] = {}

    async def _of(
        self,
        key: tuple[Any, ...],
        read: Callable[[Scope], Awaitable[list[Any]]],
        scope: Scope,
        code: str,
        dated: str | None = None,
    ) -> list[Any]:
        """`read(scope)`'s rows: the country's, read once per `key` and kept by their commune (the column `code`),
        those of them inside `scope` (by `Scope.holds` on the commune and the date in `dated`, when given), in
        the order the statement gives them."""
        if scope.everywhere:
            return await read(scope)
        by_code = self._by_code.get(key)
        if by_code is None:
            by_code = self._by_code[key] = {}
            for order, row in enumerate(await read(NATION)):
                by_code.setdefault(row[code], []).append((order, row))
        codes = (scope.before or frozenset()) | (scope.after or frozenset())
        found = [(order, r) for c in codes for order, r in by_code.get(c, ())]
        if dated is not None:
            found = [(order, r) for order, r in found if scope.holds(r[code], r[dated])]
        return [r for _, r in sorted(found, key=lambda pair: pair[0])]

    async def completers(self, p: Period, scope: Scope) -> list[Any]:
        read = functools.partial(Figures.completers, self, p)
        return await self._of(("completers", p), read, scope, "commune_code", "unit_from")

    async def awaiting_decision(self, on: date, scope: Scope) -> list[Any]:
        read = functools.partial(Figures.awaiting_decision, self, on)
        return await self._of(("awaiting", on), read, scope, "commune_code", "unit_from")

    async def enrolments_by_commune(self, p: Period, scope: Scope) -> list[Any]:
        return await self._of(
            ("enrolments", p), functools.partial(Figures.enrolments_by_commune, self, p), scope, "commune"
        )


async def together(*steps: Awaitable[Any]) -> list[Any]:
    """The results of `steps`, run side by side: their statements take whichever of the report's connections is free.

    If one fails, the others are cancelled and awaited before its error is raised as it is: no statement is left
    running on a connection whose transaction ends, and a refusal stays a refusal, not a group of errors.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(step)) for step in steps]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [t.result() for t in tasks]


async def _awaited(step: Awaitable[Any]) -> Any:
    return await step


def decided(row: Any, on: date) -> bool:
    """A completer's post-rehab decision is made by `on`."""
    decided_on = row["post_rehab_decided_on"]
    return decided_on is not None and decided_on <= on


def breakdown(rows: list[Any], on: date, *keys: str) -> list[dict[str, Any]]:
    """Counts of `rows` by the given keys (sex, age_band, modality, status), sorted for stable output."""
    return tally([(r, 1) for r in rows], on, *keys)


def tally(groups: list[tuple[Any, int]], on: date, *keys: str) -> list[dict[str, Any]]:
    """`breakdown` of rows counted already: each (row, how many rows it stands for)."""
    counts: Counter[tuple[str, ...]] = Counter()
    for r, n in groups:
        counts[tuple(_key(r, k, on) for k in keys)] += n
    return [{**dict(zip(keys, key, strict=True)), "count": n} for key, n in sorted(counts.items())]


def _key(row: Any, key: str, on: date) -> str:
    if key == "age_band":
        return age_band(row["birth_year"], on)
    return str(row.get(key) or "unknown")
