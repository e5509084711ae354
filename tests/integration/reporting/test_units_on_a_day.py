"""A report below the nation finds a person's or case's unit on its day from the latest one kept on the row, and the
few moved or transferred since from their superseded dated rows (indicators._scoped): every case of moving before,
on and after the day, back again, and a move recorded late with an earlier date, against the dated lookup."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from services.reporting.facts import MIGRATIONS, Facts, create_generation
from services.reporting.fold import KIND, StreamFacts, empty, fold, source_of
from services.reporting.hierarchy import hierarchy_of
from services.reporting.indicators import Figures
from services.reporting.periods import parse_period
from services.reporting.rebuild import bulk_load
from services.reporting.reports import Reports
from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.events import Envelope
from shared.kernel.migrations import migrate
from shared.kernel.store_schema import KERNEL_MIGRATIONS
from shared.vn.units import NATIONAL, admin_units
from tests.support.envelopes import envelope
from tests.support.services import fresh_schema, owner_dsn

pytestmark = pytest.mark.integration

X, Y = "25747", "25750"  # Phường Thủ Dầu Một, Phường Phú Lợi (79): two communes of today's units
DAY = date(2026, 6, 30)  # the end of 2026-H1


def person(stream: str, registered: str, where: str, *moves: tuple[str, str]) -> list[Envelope]:
    """Registered in `where` on `registered`, then moved (to, on) in the order recorded."""
    registration = {"sex": "male", "birth_year": 1990, "status": "addict", "commune_code": where}
    made = [envelope("person_registered", stream, 1, registered, registration, where)]
    for version, (to, on) in enumerate(moves, start=2):
        made.append(envelope("residence_changed", stream, version, on, {"from_commune": where, "to_commune": to}, to))
    return made


def methadone(stream: str, started: str, where: str, *transfers: tuple[str, str]) -> list[Envelope]:
    payload = {"person_id": f"p-{stream}", "modality": "methadone", "started_on": started, "birth_year": 1990}
    made = [envelope("case_enrolled", stream, 1, started, payload, where)]
    for version, (to, on) in enumerate(transfers, start=2):
        made.append(envelope("case_transferred", stream, version, on, {"from_commune": where, "to_commune": to}, to))
    return made


LIVES = [
    *person("p1", "2025-08-01", X, (Y, "2026-03-01")),  # moved before the day: Y
    *person("p2", "2025-08-01", Y, (X, "2026-09-01")),  # moved after it: still Y on the day
    *person("p3", "2025-08-01", X, (Y, "2026-09-01"), (X, "2026-10-01")),  # away and back, both after: X
    *person("p4", "2025-08-01", X, (Y, "2026-06-30")),  # moved on the day itself: Y
    *person("p5", "2026-07-15", X),  # registered after the day: not on record
    *person("p6", "2025-08-01", X, (Y, "2026-05-01"), (X, "2026-04-01")),  # the earlier move recorded last: Y
    *methadone("c1", "2025-09-01", X, (Y, "2026-09-01")),  # transferred after the day: X
    *methadone("c2", "2025-09-01", X, (Y, "2026-02-01")),  # transferred before it: Y
    *methadone("c3", "2025-09-01", Y),
    *methadone("c4", "2026-08-01", X),  # enrolled after the day
]


async def test_people_and_cases_are_in_the_unit_they_had_on_the_day() -> None:
    state: dict[str, StreamFacts] = {}
    for env in LIVES:
        facts = state.setdefault(env.stream_id, empty(KIND[source_of(env)], env.stream_id))
        fold(facts, env)
    assert (state["p6"].row["latest_commune"], state["p6"].row["latest_from"]) == (Y, date(2026, 5, 1))
    assert (state["c1"].row["latest_commune"], state["c1"].row["latest_from"]) == (Y, date(2026, 9, 1))
    period = parse_period("2026-H1")
    async with fresh_schema("units") as schema:
        engine = make_engine(owner_dsn(ServiceSettings.for_service("reporting")), schema, 1)
        try:
            await migrate(engine, schema, [*KERNEL_MIGRATIONS, *MIGRATIONS])
            async with engine.begin() as conn:
                f: Facts = await create_generation(conn, 0)
                await bulk_load(conn, f, state)
            found: dict[str, tuple[int, int]] = {}
            async with engine.begin() as conn:
                await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
                reports = Reports(conn, f, admin_units())
                figures = Figures(conn, f)
                for unit in (X, Y, "79", NATIONAL):
                    scope = reports.scope(unit, hierarchy_of(period.start, period.end))
                    people = sum(r["n"] for r in await figures.on_record(period, scope))
                    found[unit] = (people, await figures.active_methadone(DAY, scope))
        finally:
            await engine.dispose()
    assert found == {X: (1, 1), Y: (4, 2), "79": (5, 3), NATIONAL: (5, 3)}
