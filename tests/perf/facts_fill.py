"""A development tool: ONE generation of reporting facts at national scale, written straight into its tables.

It measures the reports' SQL only. Nothing goes through Kafka, the services or the event log (g<N>_events stays
empty, so `known.py` cannot refold these facts): the events a real system would publish are made in memory,
folded with the live path's own `fold` (so the rows are shaped exactly as the projection shapes them), and
COPied into the generation's tables of a throw-away schema (`tests/perf/bench_reports.py` makes and drops it).

The people are spread over every commune of today's catalogue (34 provinces, 3,321 communes); the ones
registered before 2025-07-01 are filed under a commune of the 2024 edition that maps forward to it (some under a
split commune, which maps to its province), so the reports' forward mapping does real work. Seeded: the same
arguments give the same facts.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.facts import Facts
from services.reporting.fold import KIND, StreamFacts, empty, fold, source_of
from services.reporting.hierarchy import BEFORE_REFORM
from services.reporting.rebuild import bulk_load
from shared.kernel.events import Actor, Envelope
from shared.vn.units import NATIONAL, REFORM_DATE, AdminUnits, Edition

PERSONS = 250_000
LAST_DAY = date(2026, 12, 31)
MODALITIES = ("compulsory", "voluntary_community", "voluntary_facility", "methadone")
ACTOR = Actor.model_construct(sub="fill", role="admin", unit=NATIONAL)
RECORDED = datetime(2026, 12, 1, tzinfo=UTC)
NIL = UUID(int=0)


def _codes(units: AdminUnits, edition: Edition, level: str) -> list[str]:
    found: list[str] = []
    frontier = [NATIONAL]
    while frontier:
        for child in units.children(frontier.pop(), edition):
            (found if child.level == level else frontier).append(child.code)
    return sorted(found)


class _Streams:
    """Envelopes made and folded at once: the facts of every stream, as the live path would hold them."""

    def __init__(self) -> None:
        self.state: dict[str, StreamFacts] = {}
        self.events = 0

    def event(self, kind: str, stream: str, on: date, unit: str, payload: dict[str, Any]) -> None:
        facts = self.state.get(stream)
        version = 1 if facts is None else facts.row["version"] + 1
        env = Envelope.model_construct(
            event_id=NIL,
            event_type=kind,
            schema_version=1,
            stream_id=stream,
            stream_version=version,
            occurred_on=on,
            recorded_at=RECORDED,
            actor=ACTOR,
            unit_code=unit,
            correlation_id="fill",
            causation_id=None,
            payload=payload,
        )
        if facts is None:
            facts = self.state[stream] = empty(KIND[source_of(env)], stream)
        fold(facts, env)
        self.events += 1


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max((last - first).days, 0)))


def facts_of(units: AdminUnits, persons: int = PERSONS, seed: int = 20) -> tuple[dict[str, StreamFacts], int]:
    """The folded facts of `persons` people, their cases and the plans of 2025 and 2026; and the event count."""
    rng = random.Random(seed)
    communes_now = _codes(units, "2025", "commune")
    into: dict[str, list[str]] = {}  # today's unit -> the 2024 communes whose records it took over
    for old in _codes(units, "2024", "commune"):
        into.setdefault(units.unit_now(old, BEFORE_REFORM), []).append(old)
    streams = _Streams()
    for n in range(persons):
        person = f"p{n:07d}"
        home = rng.choice(communes_now)
        registered = _day(rng, date(2018, 1, 1), date(2026, 11, 30))
        filed = home
        if registered < REFORM_DATE:
            olds = into.get(home) or into.get(units.get(home, edition="2025").parent or "", [])
            filed = rng.choice(olds) if olds else home
        addict = rng.random() < 0.7
        streams.event(
            "person_registered",
            person,
            registered,
            filed,
            {
                "commune_code": filed,
                "status": "user",
                "source": "police_review",
                "sex": rng.choice(("male", "male", "male", "female")),
                "birth_year": rng.randint(1955, 2012),
            },
        )
        if addict:
            streams.event(
                "addiction_determined",
                person,
                registered + timedelta(days=rng.randint(0, 30)),
                filed,
                {"result": "addicted", "facility": "TTYT", "form_number": "1", "status": "addict"},
            )
        residence, moved_on = filed, registered
        if rng.random() < 0.2:  # a move, before or after the reform
            moved_on = _day(rng, registered + timedelta(days=40), LAST_DAY)
            to = rng.choice(communes_now)
            if moved_on < REFORM_DATE:
                to = rng.choice(into.get(to) or [filed])
            streams.event("residence_changed", person, moved_on, residence, {"to_commune": to})
            residence = to
        day = registered + timedelta(days=rng.randint(30, 120))
        for c in range(rng.choice((0, 1, 2, 2, 3, 3))):
            if day > LAST_DAY:
                break
            day = _case(streams, rng, units, f"{person}-c{c}", person, day, residence, communes_now)
        if rng.random() < 0.02:
            died = _day(rng, registered, LAST_DAY)
            streams.event("person_died", person, died, residence, {"died_on": died.isoformat()})
    _plans(streams, rng, units, communes_now)
    return streams.state, streams.events


def _case(
    streams: _Streams,
    rng: random.Random,
    units: AdminUnits,
    case: str,
    person: str,
    start: date,
    residence: str,
    communes_now: list[str],
) -> date:
    """One case of `person` from `start`, with its transfers, spells absconded, completion and post-rehab; the
    day after it closes (the next case can start then)."""
    unit = residence
    if start >= REFORM_DATE and not units.is_current(residence) and rng.random() < 0.9:
        unit = units.unit_now_or_code(residence, BEFORE_REFORM)  # mostly today's unit; a few the old code
    modality = rng.choice(MODALITIES)
    months = rng.choice((6, 12, 24))
    streams.event(
        "case_enrolled",
        case,
        start,
        unit,
        {
            "person_id": person,
            "modality": modality,
            "started_on": start.isoformat(),
            "planned_months": months,
            "sex": rng.choice(("male", "male", "female", None)),
            "birth_year": None if rng.random() < 0.03 else rng.randint(1955, 2012),
        },
    )
    day = start
    if rng.random() < 0.05:
        day = _day(rng, start + timedelta(days=10), start + timedelta(days=120))
        to = rng.choice(communes_now) if day >= REFORM_DATE else unit
        streams.event("case_transferred", case, day, unit, {"to_commune": to})
        unit = to
    if rng.random() < 0.08:
        day = _day(rng, day + timedelta(days=5), day + timedelta(days=150))
        streams.event("case_absconded", case, day, unit, {})
        if rng.random() < 0.6:
            day += timedelta(days=rng.randint(3, 90))
            streams.event("case_returned", case, day, unit, {})
        else:
            return day + timedelta(days=400)
    end = start + timedelta(days=months * 30 + rng.randint(-20, 40))
    if end > LAST_DAY:
        return end
    if modality == "methadone" or rng.random() < 0.12:
        out = _day(rng, day + timedelta(days=1), end)
        streams.event("case_dropped_out", case, out, unit, {})
        return out + timedelta(days=rng.randint(30, 400))
    streams.event("case_completed", case, end, unit, {"certificate_number": "G", "served_days": (end - start).days})
    if rng.random() < 0.75:
        decided = end + timedelta(days=rng.randint(0, 60))
        if decided <= LAST_DAY:
            ends = decided + timedelta(days=rng.choice((180, 365, 730)))
            streams.event(
                "post_rehab_started",
                case,
                decided,
                unit,
                {"decided_on": decided.isoformat(), "ends_on": ends.isoformat()},
            )
            if ends <= LAST_DAY:
                streams.event("post_rehab_ended", case, ends, unit, {})
            return ends + timedelta(days=rng.randint(30, 400))
    return end + timedelta(days=rng.randint(30, 400))


def _plans(streams: _Streams, rng: random.Random, units: AdminUnits, communes_now: list[str]) -> None:
    """2026 plans for every province and commune of today; 2025 plans for the provinces and districts of 2024."""

    def plan(year: int, code: str, scale: int) -> None:
        quotas = {m: rng.randint(1, 5) * scale for m in ("compulsory", "voluntary_community", "methadone")}
        targets = [{"indicator": "post_rehab_management_coverage", "comparison": ">=", "value": 0.8}]
        streams.event(
            "plan_issued", f"plan-{year}-{code}", date(year, 1, 5), code, {"quotas": quotas, "targets": targets}
        )

    for province in _codes(units, "2025", "province"):
        plan(2026, province, 100)
    for commune in communes_now:
        plan(2026, commune, 1)
    for code in _codes(units, "2024", "province") + _codes(units, "2024", "district"):
        plan(2025, code, 10)


async def fill(conn: AsyncConnection, f: Facts, units: AdminUnits, persons: int = PERSONS, seed: int = 20) -> int:
    """Fill `f`'s (empty) tables; the number of events folded into them."""
    state, events = facts_of(units, persons, seed)
    await bulk_load(conn, f, state)
    return events
