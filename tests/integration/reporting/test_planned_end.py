"""A report as of a date reads the planned end valid on that date (shared/vn/rulebook.planned_end, folded).

X 07616  compulsory from 2023-01-10 for 12 months (end 2024-01-10), absconded 2023-03-01, back 2023-03-31:
         from the return on, the end is 2024-02-09
Y 07636  compulsory from 2023-01-10 for 12 months (end 2024-01-10), absconded 2024-03-01, back 2024-03-21:
         overrunning since 2024-01-10; from the return on, the end is 2024-01-30
"""

from __future__ import annotations

import pytest

from tests.integration.reporting.conftest import System

pytestmark = pytest.mark.integration
EVENTS = 2 + 2 + 2 * 3  # registrations, determinations, and per case enrolment, abscondment, return


@pytest.fixture(scope="module")
async def cases(system: System) -> dict[str, str]:
    x, y = await system.person("07616", "1990-01-01"), await system.person("07636", "1985-01-01")
    for person in (x, y):
        await system.known_to_cases(person, "addict")
    case_x = await system.enrol(x, "compulsory", "2023-01-10", 12)
    await system.step(case_x, "abscondment", {"absconded_on": "2023-03-01"}, ("commune_police", "07616"))
    await system.step(case_x, "return", {"returned_on": "2023-03-31"}, ("commune_police", "07616"))
    case_y = await system.enrol(y, "compulsory", "2023-01-10", 12)
    await system.step(case_y, "abscondment", {"absconded_on": "2024-03-01"}, ("commune_police", "07636"))
    await system.step(case_y, "return", {"returned_on": "2024-03-21"}, ("commune_police", "07636"))
    await system.applied(EVENTS)
    return {"x": case_x, "y": case_y}


async def overrun(system: System, as_of: str) -> dict[str, tuple[str, int]]:
    answer = await system.reporting.http.get(
        "/api/v1/reports/outstanding",
        params={"unit_code": "220", "as_of": as_of},
        headers=system.reporting.auth("district_officer", "220"),
    )
    assert answer.status_code == 200, answer.text
    return {o["case_id"]: (o["planned_end"], o["days_past"]) for o in answer.json()["planned_end_passed"]}


async def test_a_return_before_the_report_date_pushes_the_planned_end_back(
    system: System, cases: dict[str, str]
) -> None:
    assert cases["x"] not in await overrun(system, "2024-02-01")  # past 2024-01-10, but 30 days were lost
    assert (await overrun(system, "2024-02-10"))[cases["x"]] == ("2024-02-09", 1)


async def test_an_abscondment_after_the_report_date_does_not_move_it(system: System, cases: dict[str, str]) -> None:
    assert (await overrun(system, "2024-02-01"))[cases["y"]] == ("2024-01-10", 22)
    assert (await overrun(system, "2024-02-29"))[cases["y"]] == ("2024-01-10", 50)  # the day before it
    assert cases["y"] not in await overrun(system, "2024-03-10")  # absconded on the day: the clock has stopped
    assert (await overrun(system, "2024-03-21"))[cases["y"]] == ("2024-01-30", 51)  # back that day: pushed back
    assert (await overrun(system, "2024-04-01"))[cases["y"]] == ("2024-01-30", 62)


async def test_reporting_and_cases_agree_on_the_planned_end(system: System, cases: dict[str, str]) -> None:
    later = await overrun(system, "2025-01-01")
    for case_id in cases.values():
        answer = await system.cases.http.get(
            f"/api/v1/cases/{case_id}", headers=system.cases.auth("district_officer", "220")
        )
        assert answer.status_code == 200, answer.text
        assert later[case_id][0] == answer.json()["planned_end"]
