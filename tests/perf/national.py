"""A national data set, deterministic and seeded: people in every commune of today's catalogue, lives 2022–2026.

`people_of(n, seed)` draws `n` people spread over the 3,321 communes of the 34 provinces (people registered before
2025-07-01 under a 2024 commune that today's commune took over), each with a registration date and a status; the
life of each (rehab in every modality, absconding, completion, post-rehab management with its drug tests, relapse,
methadone) is drawn from the same seed and decided by the cases domain itself (`Case`), so every event is one the
service would have accepted. Plans: every province and commune of 2026.

`load(system, people)` puts them in through the services' own paths: the registry's import endpoint (a police
review list per province and half-year, with every check the import makes), the cases event store (the domain's
events, appended with COPY as the import appends, and the `cases` read model written from them by the service's own
`case_row`/`duty_rows`) and the quotas API. Nothing writes a reporting projection: reporting folds what the relays
publish, as in production.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import insert, text

from services.cases.domain.case import Case, PersonFacts
from services.cases.domain.rules import RuleBook, rulebook
from services.cases.projection import DUTY_TABLES, case_row, duty_rows
from services.cases.tables import cases as cases_table
from services.quotas.commands import Plans
from services.quotas.domain.events import Target
from services.topology import CASES_TOPIC, QUOTAS_TOPIC
from shared.kernel.db import make_engine
from shared.kernel.events import Actor, CommandContext, Envelope, PendingEvent, seal
from shared.kernel.eventstore import EventStore
from shared.kernel.rules import RuleViolation
from shared.kernel.uow import SqlUnitOfWork
from shared.runtime.auth import Principal, Role
from shared.vn.units import NATIONAL, REFORM_DATE, AdminUnits, admin_units
from tests.harness import System
from tests.perf.people import FAMILY, GIVEN_FEMALE, GIVEN_MALE, MIDDLE_FEMALE, MIDDLE_MALE, VILLAGES, as_csv
from tests.support.api import token
from tests.support.services import owner_dsn

TODAY = date(2026, 12, 7)  # the day the data set describes (the services' clock is the real one: not earlier)
FIRST = date(2022, 1, 1)
BEFORE_REFORM = REFORM_DATE - timedelta(days=1)
CHUNK = 2_000  # people whose cases are appended in one transaction
ACTOR = Actor(sub="bench-national", role="commune_officer", unit=NATIONAL)


@dataclass
class Person:
    """One row of a review list, and what the registry will know of the person."""

    index: int
    province: str  # today's province: the officer who imports the list
    commune: str  # the code as recorded: a 2024 commune before the reform, today's after
    registered_on: date
    addict: bool
    male: bool
    birth_year: int
    row: list[str] = field(default_factory=list)
    person_id: str = ""

    @property
    def key(self) -> tuple[str, date, str, str, int]:
        """What the registry keeps of the row that reports can tell apart (matching rows to registered ids)."""
        return (self.commune, self.registered_on, "addict" if self.addict else "user", self.sex, self.birth_year)

    @property
    def sex(self) -> str:
        return "male" if self.male else "female"


def half_years() -> list[date]:
    """The recording date of each half-year's review lists, 2022-H1 to 2026-H2 (never after TODAY)."""
    days = [date(y, m, 15) for y in range(2022, 2027) for m in (3, 9)]
    return [d for d in days if d <= TODAY]


def catalogue(units: AdminUnits) -> list[tuple[str, str, list[str]]]:
    """(province, commune of today, the 2024 communes it took over) for every commune of today."""
    before: dict[str, list[str]] = defaultdict(list)
    frontier = [u.code for u in units.children(NATIONAL, "2024")]
    while frontier:
        code = frontier.pop()
        below = units.children(code, "2024")
        if not below:
            before[units.unit_now(code, BEFORE_REFORM)].append(code)
        frontier.extend(u.code for u in below)
    return [
        (province.code, commune.code, sorted(before.get(commune.code, [])))
        for province in units.children(NATIONAL, "2025")
        for commune in units.children(province.code, "2025")
    ]


def people_of(count: int, seed: int = 2026, units: AdminUnits | None = None) -> list[Person]:
    """`count` people over every commune of today (registered from 2022; before 2025-07-01 under a 2024 code)."""
    rng, places, dates = random.Random(seed), catalogue(units or admin_units()), half_years()
    made = []
    for n in range(count):
        province, now, old = places[n % len(places)] if n < len(places) else rng.choice(places)
        on = rng.choice(dates if old else [d for d in dates if d >= REFORM_DATE])  # a commune new in 2025: since
        commune = rng.choice(old) if on < REFORM_DATE else now
        male, year = rng.random() < 0.9, rng.randint(1962, 2006)
        person = Person(n, province, commune, on, rng.random() < 0.65, male, year)
        name = " ".join(
            [
                rng.choice(FAMILY),
                rng.choice(MIDDLE_MALE if male else MIDDLE_FEMALE),
                rng.choice(GIVEN_MALE if male else GIVEN_FEMALE),
            ]
        )
        century_sex = (0 if year < 2000 else 2) + (0 if male else 1)
        person.row = [
            name,
            f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}",
            "Nam" if male else "Nữ",
            f"024{century_sex}{year % 100:02d}{n:06d}",
            commune,
            f"{rng.choice(VILLAGES)} {n}",
            "Nghiện" if person.addict else "Sử dụng",
        ]
        made.append(person)
    return made


# --- lives, decided by the cases domain ---------------------------------------------------------------------------


@dataclass
class Life:
    """The cases of one person: each a stream of pending events the domain decided, in order."""

    streams: list[tuple[str, list[PendingEvent]]] = field(default_factory=list)
    refused: int = 0


def _case_id(seed: int, person: Person, n: int) -> str:
    return str(UUID(int=random.Random(f"{seed}:{person.index}:{n}").getrandbits(128), version=4))


def life_of(person: Person, units: AdminUnits, rules: RuleBook, seed: int) -> Life:
    """The person's cases, drawn from `seed` and the person's index, each step decided by `Case`."""
    rng, life = random.Random(f"{seed}:{person.index}"), Life()
    facts = PersonFacts(
        person.person_id,
        person.commune,
        "addict" if person.addict else "user",
        person.sex,
        person.birth_year,
        True,
        person.registered_on,
    )
    modality = rng.choices(
        ["compulsory", "voluntary_community", "voluntary_facility", "methadone", None],
        [20, 35, 15, 15, 15] if person.addict else [0, 0, 0, 12, 88],
    )[0]
    start = person.registered_on + timedelta(days=rng.randint(7, 240))
    courses = 0
    while modality is not None and start < TODAY - timedelta(days=14):
        case_id = _case_id(seed, person, len(life.streams))
        relapsed = _one_case(rng, case_id, facts, modality, start, courses, units, rules, life)
        courses += modality != "methadone"
        if relapsed is None or rng.random() < 0.4:
            break
        modality, start = "compulsory", relapsed + timedelta(days=rng.randint(20, 90))
    return life


def _one_case(
    rng: random.Random,
    case_id: str,
    person: PersonFacts,
    modality: str,
    start: date,
    courses: int,
    units: AdminUnits,
    rules: RuleBook,
    life: Life,
) -> date | None:
    """Decide one case's events (stopping at the first refusal); the day of a relapse when it ends in one."""
    decided = start - timedelta(days=rng.randint(0, 10))
    group_rules = rules.on(decided)
    group = group_rules.age_group(person.birth_year or 1990, start)
    bounds = group_rules.duration(modality, group, "repeat" if courses else "first")  # type: ignore[arg-type]
    months = rng.randint(*bounds) if bounds else None
    here = PersonFacts(
        person.person_id,
        units.code_on(person.commune_code, person.unit_on or start, start),
        person.status,
        person.sex,
        person.birth_year,
        True,
        person.unit_on,
    )
    events: list[PendingEvent] = []
    case = Case(case_id)

    def step(decided_events: list[PendingEvent]) -> None:
        for p in decided_events:
            case.apply(p.event, p.occurred_on, p.unit_code)
        events.extend(decided_events)

    relapse: date | None = None
    try:
        step(
            Case.enroll(
                here,
                person.person_id,
                modality,  # type: ignore[arg-type]
                f"{rng.randint(1, 999)}/QĐ-UBND",
                decided,
                start,
                months,
                "Cơ sở cai nghiện ma túy tỉnh" if modality in ("compulsory", "voluntary_facility") else None,
                f"{rng.randint(1, 999)}/QĐ-TA" if modality == "compulsory" else None,
                rules,
                TODAY,
                courses,
            )
        )
        if modality == "methadone":
            tested = start + timedelta(days=30)
            stop = start + timedelta(days=rng.randint(60, 1500))
            while tested < min(stop, TODAY):
                step(case.record_drug_test(tested, "negative", None, TODAY))
                tested += timedelta(days=30)
            if stop < TODAY and rng.random() < 0.5:
                step(case.drop_out(stop, "Chuyển nơi điều trị", TODAY))
        else:
            if modality != "voluntary_community" and rng.random() < 0.08:
                gone = start + timedelta(days=rng.randint(20, 90))
                if gone < TODAY - timedelta(days=30):
                    step(case.abscond(gone, TODAY))
                    back = gone + timedelta(days=rng.randint(5, 60))
                    if back < TODAY:
                        step(case.return_(back, TODAY))
            end = case.planned_end
            if end is not None and end < TODAY and case.state == "active":
                step(case.complete(end, f"{rng.randint(1, 9999)}/GCN", rules, TODAY))
                if rng.random() < 0.93:
                    decided_on = end + timedelta(
                        days=rng.randint(1, 12) if rng.random() < 0.85 else rng.randint(13, 60)
                    )
                    if decided_on < TODAY:
                        step(
                            case.start_post_rehab(
                                f"{rng.randint(1, 999)}/QĐ-UBND",
                                decided_on,
                                decided_on,
                                None,
                                "Cán bộ xã",
                                rules,
                                TODAY,
                            )
                        )
                        relapse = _post_rehab(rng, case, step)
    except RuleViolation:
        life.refused += 1
    if events:
        life.streams.append((case_id, events))
    return relapse


def _post_rehab(rng: random.Random, case: Case, step: Any) -> date | None:
    """Drug tests every three months, a relapse now and then, the end of the period when it has come."""
    assert case.post_rehab_starts_on is not None and case.post_rehab_ends_on is not None
    tested = case.post_rehab_starts_on + timedelta(days=30)
    while tested < min(case.post_rehab_ends_on, TODAY):
        positive = rng.random() < 0.012  # a relapse in about a quarter of two-year periods
        step(case.record_drug_test(tested, "positive" if positive else "negative", None, TODAY))
        if positive:
            found = tested + timedelta(days=rng.randint(3, 20))
            if found < TODAY:
                step(case.record_relapse(found, TODAY))
                return found
            return None
        tested += timedelta(days=30)
    if case.post_rehab_ends_on < TODAY:
        step(case.end_post_rehab(case.post_rehab_ends_on, f"{rng.randint(1, 9999)}/GCN-SCN", TODAY))
    return None


# --- loading through the services ---------------------------------------------------------------------------------


async def import_people(system: System, people: list[Person], progress: bool = True) -> float:
    """Every review list through the registry's import endpoint; returns seconds spent."""
    lists: dict[tuple[str, date], list[Person]] = defaultdict(list)
    for p in people:
        lists[(p.province, p.registered_on)].append(p)
    started, done = time.perf_counter(), 0
    base = system["registry"].url + "/api/v1"
    async with httpx.AsyncClient(timeout=120) as http:
        queue = sorted(lists.items())
        lock = asyncio.Lock()

        async def worker() -> None:
            nonlocal done
            while queue:
                async with lock:
                    if not queue:
                        return
                    (province, on), rows = queue.pop(0)
                headers = token("province_officer", province)
                files = {"file": (f"ds-{province}-{on}.csv", as_csv([p.row for p in rows]), "text/csv")}
                answer = await http.post(
                    base + "/persons/imports", files=files, data={"recorded_on": on.isoformat()}, headers=headers
                )
                assert answer.status_code in (201, 202), answer.text[:500]
                import_id = answer.json()["import_id"]
                while True:
                    report = (await http.get(f"{base}/persons/imports/{import_id}", headers=headers)).json()
                    if report["status"] in ("done", "failed"):
                        break
                    await asyncio.sleep(0.2)
                assert report["status"] == "done" and not report["rejected"], str(report)[:800]
                assert report["created"] == len(rows), f"{province} {on}: {report['created']} of {len(rows)} created"
                done += len(rows)
                if progress:
                    _bar("registry import", done, len(people), f"{len(queue)} lists to go")

        await asyncio.gather(*(worker() for _ in range(2)))
    if progress:
        print()
    return time.perf_counter() - started


async def match_ids(system: System, people: list[Person]) -> None:
    """Give each generated person the id the registry gave the row (rows equal in all reports can tell are
    interchangeable: matched in the order of their ids, so the result is the same in every run)."""
    engine = make_engine(owner_dsn(system.settings), system.schemas["registry"], 1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT person_id::text, commune_code, unit_on, status, sex, birth_year FROM persons"
                    " ORDER BY person_id"
                )
            )
            ids: dict[tuple[Any, ...], list[str]] = defaultdict(list)
            for r in rows:
                ids[(r.commune_code, r.unit_on, r.status, r.sex, r.birth_year)].append(r.person_id)
    finally:
        await engine.dispose()
    for p in people:
        found = ids.get(p.key)
        assert found, f"row {p.index} ({p.key}) is not in the registry"
        p.person_id = found.pop(0)


async def append_lives(system: System, people: list[Person], seed: int, progress: bool = True) -> tuple[int, int]:
    """Every life's events into the cases event store (COPY, as the import appends) and its read model; returns
    (events, refusals)."""
    units, rules = admin_units(), rulebook()
    store, ctx = EventStore(CASES_TOPIC), CommandContext(actor=ACTOR, correlation_id="bench-national")
    engine = make_engine(owner_dsn(system.settings), system.schemas["cases"], 2)
    appended = refused = 0
    try:
        for start in range(0, len(people), CHUNK):
            sealed: list[Envelope] = []
            notes: dict[UUID, dict[str, str]] = {}
            read_rows: list[dict[str, Any]] = []
            duties: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for person in people[start : start + CHUNK]:
                life = life_of(person, units, rules, seed)
                refused += life.refused
                for case_id, pending in life.streams:
                    history = [seal(p, case_id, i + 1, ctx) for i, p in enumerate(pending)]
                    own = {e.event_id: dict(p.notes) for e, p in zip(history, pending, strict=True) if p.notes}
                    sealed += history
                    notes |= own
                    read_rows.append(case_row(case_id, history, own))
                    for name, rows in duty_rows(case_id, history, own, rules).items():
                        duties[name] += rows
            async with engine.begin() as conn:
                await store.append_sealed(conn, sealed, notes)
                if read_rows:
                    await conn.execute(insert(cases_table), _uniform(read_rows))
                for name, rows in duties.items():
                    if rows:
                        await conn.execute(insert(DUTY_TABLES[name]), _uniform(rows))
            appended += len(sealed)
            if progress:
                _bar("cases events", min(start + CHUNK, len(people)), len(people), f"{appended} events")
    finally:
        await engine.dispose()
    if progress:
        print()
    return appended, refused


async def issue_plans(system: System, units: AdminUnits, year: int = 2026) -> int:
    """A plan for every province and commune of `year`, by each province's officer, through the quotas service's
    own application service (`Plans.put`, as its plan-table import does: one unit of work per province)."""
    plans = Plans(EventStore(QUOTAS_TOPIC), units)
    quota = {"compulsory": 4, "voluntary_community": 6, "voluntary_facility": 2, "methadone": 5}
    targets = [Target(indicator="post_rehab_management_coverage", comparison=">=", value=1.0)]
    engine = make_engine(owner_dsn(system.settings), system.schemas["quotas"], 1)
    issued = 0
    try:
        for province in units.children(NATIONAL, "2025"):
            who = Principal(sub="bench-national", role=Role.PROVINCE_OFFICER, unit=province.code)
            communes = units.children(province.code, "2025")
            async with SqlUnitOfWork(engine) as uow:
                totals = {m: n * len(communes) for m, n in quota.items()}
                await plans.put(uow, who, year, province.code, totals, targets, f"{year}/KH-UBND", None)
                for commune in communes:
                    await plans.put(uow, who, year, commune.code, quota, targets, f"{year}/KH-UBND", None)
                await uow.commit()
            issued += 1 + len(communes)
    finally:
        await engine.dispose()
    return issued


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the same keys (a row leaves out what its case has not reached): one multi-row INSERT."""
    keys = {k for r in rows for k in r}
    return [{k: r.get(k) for k in keys} for r in rows]


def _bar(label: str, done: int, total: int, extra: str = "") -> None:
    filled = 30 * done // max(total, 1)
    print(f"\r  {label:<16} [{'#' * filled:<30}] {done:>7}/{total} {extra}", end="", flush=True)


def summary(people: list[Person]) -> Iterator[str]:
    """What the data set holds, for the benchmark's header."""
    provinces = {p.province for p in people}
    before = sum(1 for p in people if p.registered_on < REFORM_DATE)
    yield (
        f"{len(people)} people in {len(provinces)} provinces, {len({p.commune for p in people})} recorded communes;"
        f" {before} registered before 2025-07-01 under the 2024 units"
    )
