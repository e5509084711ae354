"""Reports by the hierarchy of their period (issue 16): records made under the former units, reported after 2025-07-01.

People (each determined addicted on the 5th of the month they were registered in):
  P 07660 (Xã An Bá, merged whole into Xã Sơn Động 07615) registered 2025-03-01, voluntary community from
          2025-04-10, completed 2025-10-15 (recorded by province 24), no post-rehab decision
  Q 09163 (Phường Vũ Ninh of old Bắc Ninh 27, now in Phường Vũ Ninh 09169 of Tỉnh Bắc Ninh 24) registered
          2024-11-01, voluntary community from 2024-12-10, completed 2025-06-20, no post-rehab decision
  R 07648 (Xã Vĩnh An, merged into 07615) registered 2025-02-01, voluntary community from 2026-02-01
2026 plans of the new province 24: 24 itself 10 + 10, Xã Sơn Động 07615 0 + 2, Phường Vũ Ninh 09169 0 + 1.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fastapi.encoders import jsonable_encoder
from prometheus_client import REGISTRY

from services.reporting.apply import apply
from services.reporting.facts import create_generation, current, drop_generation
from services.reporting.gauges import ATTAINMENT, refresh
from services.reporting.periods import parse_period
from services.reporting.reports import Reports
from shared.kernel.events import Envelope
from tests.integration.reporting.conftest import System
from tests.support.services import read_topic

pytestmark = pytest.mark.integration
EVENTS = 3 + 3 + 3 + 2 + 3  # registrations, determinations, enrolments, completions, plans
PROVINCE = ("province_officer", "24")
SON_DONG = ("commune_officer", "07615")


@pytest.fixture(scope="module")
async def lives(system: System) -> dict[str, str]:
    s = system
    p = await s.person("07660", "1990-01-01", recorded_on="2025-03-01")
    q = await s.person("09163", "1988-01-01", recorded_on="2024-11-01", facility="256")
    r = await s.person("07648", "1995-01-01", recorded_on="2025-02-01")
    for person in (p, q, r):
        await s.known_to_cases(person, "addict")
    case_p = await s.enrol(p, "voluntary_community", "2025-04-10", 6)
    await s.step(case_p, "completion", {"completed_on": "2025-10-15", "certificate_number": "GCN-P"}, PROVINCE)
    case_q = await s.enrol(q, "voluntary_community", "2024-12-10", 6, role=("district_officer", "256"))
    await s.step(
        case_q,
        "completion",
        {"completed_on": "2025-06-20", "certificate_number": "GCN-Q"},
        ("district_officer", "256"),
    )
    case_r = await s.enrol(r, "voluntary_community", "2026-02-01", 6, role=PROVINCE)
    for unit, quotas in (
        ("24", {"compulsory": 10, "voluntary_community": 10}),
        ("07615", {"compulsory": 0, "voluntary_community": 2}),
        ("09169", {"compulsory": 0, "voluntary_community": 1}),
    ):
        answer = await s.quotas.http.put(
            f"/api/v1/plans/2026/{unit}",
            json={"quotas": quotas, "document_number": "KH/UBND tỉnh Bắc Ninh 2026", "document_date": "2026-01-15"},
            headers=s.quotas.auth(*PROVINCE),
        )
        assert answer.status_code == 201, answer.text
    await s.applied(EVENTS)
    return {"p": case_p, "q": case_q, "r": case_r}


async def report(system: System, path: str, who: tuple[str, str], status: int = 200, **params: str) -> Any:
    answer = await system.reporting.http.get(
        f"/api/v1/reports/{path}", params=params, headers=system.reporting.auth(*who)
    )
    assert answer.status_code == status, answer.text
    return answer.json() if params.get("format", "json") == "json" else answer


async def test_the_2025_year_end_coverage_of_xa_son_dong_counts_the_case_from_an_ba(
    system: System, lives: dict[str, str]
) -> None:
    got = await report(system, "post-rehab-coverage", SON_DONG, unit_code="07615", as_of="2025-12-31")
    assert got["unit_name"] == "Xã Sơn Động"
    assert (got["hierarchy"], got["mapped_forward"], got["straddles_reform"]) == ("2025-07-01", True, True)
    assert (got["completers"], got["covered"]) == (1, 0)
    assert [(u["case_id"], u["commune_code"], u["unit_now"]) for u in got["uncovered"]] == [
        (lives["p"], "07660", "07615")  # the original unit stays in the record, beside today's
    ]
    province = await report(system, "post-rehab-coverage", PROVINCE, unit_code="24", as_of="2025-12-31")
    assert province["unit_name"] == "Tỉnh Bắc Ninh"
    assert {(u["case_id"], u["unit_now"]) for u in province["uncovered"]} == {
        (lives["p"], "07615"),
        (lives["q"], "09169"),
    }


async def test_the_2026_reports_of_xa_son_dong_and_of_the_new_province(system: System, lives: dict[str, str]) -> None:
    commune = await report(system, "periodic", SON_DONG, unit_code="07615", period="2026")
    assert commune["unit_name"] == "Xã Sơn Động" and commune["mapped_forward"] is True
    assert commune["straddles_reform"] is False and commune["levels"] == ["province", "commune"]
    waiting = commune["outstanding"]["awaiting_post_rehab_decision"]
    assert [(w["case_id"], w["commune_code"], w["unit_now"]) for w in waiting] == [(lives["p"], "07660", "07615")]
    figures = {i["indicator"]: i["value"] for i in commune["indicators"]}
    assert figures["completers_awaiting_post_rehab_decision"] == 1
    assert figures["voluntary_community_rehab_enrolments"] == 1  # R, enrolled in 2026 on its old commune 07648

    province = await report(system, "periodic", PROVINCE, unit_code="24", period="2026")
    assert province["unit_name"] == "Tỉnh Bắc Ninh"
    waiting = province["outstanding"]["awaiting_post_rehab_decision"]
    assert {(w["case_id"], w["commune_code"], w["unit_now"]) for w in waiting} == {
        (lives["p"], "07660", "07615"),  # old Bắc Giang
        (lives["q"], "09163", "09169"),  # old Bắc Ninh
    }
    progress = province["quota_progress"]
    assert progress["unit_name"] == "Tỉnh Bắc Ninh"
    rows = {u["unit_code"]: (u["unit_name"], u["quota"], u["achieved"]) for u in progress["units"]}
    assert rows["07615"] == (
        "Xã Sơn Động",
        {"compulsory": 0, "voluntary_community": 2},
        {"compulsory": 0, "voluntary_community": 1},
    )
    assert rows["09169"][0] == "Phường Vũ Ninh" and rows["09169"][2]["voluntary_community"] == 0
    assert not any(len(code) == 3 for code in rows)  # no district level in a 2026 plan
    assert (
        progress["total"]["quota"]["voluntary_community"],
        progress["total"]["achieved"]["voluntary_community"],
    ) == (
        10,
        1,
    )


async def test_the_2025_year_says_it_is_mapped_forward(system: System, lives: dict[str, str]) -> None:
    year = await report(system, "periodic", PROVINCE, unit_code="24", period="2025")
    assert (year["hierarchy"], year["mapped_forward"], year["straddles_reform"]) == ("2025-07-01", True, True)
    assert "01/07/2025" in year["hierarchy_note_vi"] and "đơn vị kế thừa" in year["hierarchy_note_vi"]
    assert year["unit_name"] == "Tỉnh Bắc Ninh" and year["quota_progress"]["mapped_forward"] is True
    csv_text = (await report(system, "periodic", PROVINCE, unit_code="24", period="2025", format="csv")).text
    assert "Ghi chú" in csv_text and "đơn vị kế thừa" in csv_text
    first_half = await report(system, "indicators", PROVINCE, unit_code="24", period="2025-H1")
    assert (first_half["unit_name"], first_half["hierarchy"], first_half["mapped_forward"]) == (
        "Tỉnh Bắc Giang",  # a period before the reform: the units and names of that time
        "2024-05-01",
        False,
    )


async def test_history_before_the_reform_is_read_on_the_units_of_that_time(
    system: System, lives: dict[str, str]
) -> None:
    then = await report(system, "indicators", SON_DONG, unit_code="07615", period="2024")
    assert then["unit_name"] == "Thị trấn An Châu" and then["levels"] == ["province", "district", "commune"]
    an_ba = await report(system, "post-rehab-coverage", SON_DONG, unit_code="07660", period="2025-H1")
    assert an_ba["unit_name"] == "Xã An Bá"  # the commune that inherited it reads its history
    district = await report(system, "indicators", ("district_officer", "220"), unit_code="220", period="2025-H1")
    assert district["unit_name"] == "Huyện Sơn Động"
    await report(system, "indicators", ("commune_officer", "07616"), 403, unit_code="07660", period="2024")


async def test_an_abolished_unit_has_no_report_after_the_reform(system: System, lives: dict[str, str]) -> None:
    gone = await report(system, "periodic", PROVINCE, 422, unit_code="220", period="2026")
    assert gone["error"]["code"] == "unit_abolished"
    assert {"07615", "07616", "07627"} <= set(gone["error"]["successors"])
    assert "07615 Xã Sơn Động" in gone["error"]["message"]
    own = await report(system, "post-rehab-coverage", ("district_officer", "220"), 422, as_of="2025-12-31")
    assert own["error"]["code"] == "unit_abolished"
    heir = await report(system, "periodic", ("district_officer", "220"), 403, unit_code="07615", period="2026")
    assert heir["error"]["code"] == "unit_abolished" and "07615" in heir["error"]["successors"]
    await report(system, "quota-progress", ("district_officer", "220"), 422, year="2026")


async def test_duplicated_and_reordered_delivery_gives_the_same_2026_report(
    system: System, lives: dict[str, str]
) -> None:
    settings = system.reporting.settings
    events = []
    for topic in ("rehab.quotas.events", "rehab.cases.events", "rehab.registry.events"):
        events += [Envelope.model_validate(v) for _, v in await read_topic(settings, topic)]
    runtime = system.reporting.app.state.runtime
    async with runtime.engine.begin() as conn:
        f = await create_generation(conn, 91)
        for env in [*events, *reversed(events)]:
            await apply(conn, f, env)
        replayed = jsonable_encoder(await Reports(conn, f, runtime.units).periodic("24", parse_period("2026")))
        await drop_generation(conn, 91)
    live = await report(system, "periodic", PROVINCE, unit_code="24", period="2026")
    assert json.dumps(replayed, sort_keys=True) == json.dumps(live, sort_keys=True)


async def test_a_revised_plan_shows_at_once_although_the_year_s_plans_are_kept_between_requests(
    system: System, lives: dict[str, str]
) -> None:
    """Quota progress keeps the year's plans mapped onto today's units between requests (issue 20); a plan event
    folded is a new version of them, so the next report reads the revision, and the one after it the original."""

    def quota_of(got: dict[str, Any], unit: str) -> int:
        return int(next(u for u in got["units"] if u["unit_code"] == unit)["quota"]["voluntary_community"])

    async def revise(n: int, events: int) -> None:
        answer = await system.quotas.http.put(
            "/api/v1/plans/2026/09169",
            json={"quotas": {"compulsory": 0, "voluntary_community": n}, "document_number": f"KH-{n}/UBND"},
            headers=system.quotas.auth(*PROVINCE),
        )
        assert answer.status_code < 300, answer.text
        await system.applied(events)

    assert quota_of(await report(system, "quota-progress", PROVINCE, year="2026", unit_code="24"), "09169") == 1
    assert quota_of(await report(system, "quota-progress", PROVINCE, year="2026", unit_code="24"), "09169") == 1
    await revise(4, EVENTS + 1)
    assert quota_of(await report(system, "quota-progress", PROVINCE, year="2026", unit_code="24"), "09169") == 4
    await revise(1, EVENTS + 2)
    assert quota_of(await report(system, "quota-progress", PROVINCE, year="2026", unit_code="24"), "09169") == 1


async def test_the_gauges_say_what_each_unit_s_own_reports_say(system: System, lives: dict[str, str]) -> None:
    """The gauges pass reads the country's lists once and files each row under every unit holding it (issue 20):
    each planned unit's gauges must equal its own reports, read unit by unit as an official would."""
    runtime = system.reporting.app.state.runtime
    on = date(2026, 12, 7)
    await refresh(runtime, on)
    gauge = REGISTRY.get_sample_value
    async with runtime.engine.begin() as conn:
        reports = Reports(conn, await current(conn), runtime.units)
        for unit in ("24", "07615", "09169"):
            coverage = (await reports.coverage(unit, parse_period(None, on)))["ratio"]
            assert gauge("rehab_post_rehab_coverage_ratio", {"unit": unit}) == (1.0 if coverage is None else coverage)
            waiting = (await reports.outstanding(unit, on))["awaiting_post_rehab_decision"]
            assert gauge("rehab_completers_awaiting_post_rehab_decision", {"unit": unit}) == len(waiting)
            overdue = max(w["days_overdue"] for w in waiting)
            assert gauge("rehab_completers_overdue_max_days", {"unit": unit}) == overdue
            ratios = (await reports.quota_progress(2026, unit))["total"]["ratio"]
            for modality, ratio in ratios.items():
                if ratio is not None:
                    assert gauge("rehab_quota_attainment_ratio", {"unit": unit, "modality": modality}) == ratio
    # and what they are, so that two wrong answers cannot agree: P and Q wait under the province, P (An Bá) under
    # Xã Sơn Động and Q (old Vũ Ninh) under Phường Vũ Ninh; R's enrolment counts in Sơn Động's quota of 2
    assert [gauge("rehab_completers_awaiting_post_rehab_decision", {"unit": u}) for u in ("24", "07615", "09169")] == [
        2,
        1,
        1,
    ]
    assert gauge("rehab_quota_attainment_ratio", {"unit": "07615", "modality": "voluntary_community"}) == 0.5
    assert gauge("rehab_quota_attainment_ratio", {"unit": "24", "modality": "voluntary_community"}) == 0.1


async def test_a_gauges_pass_over_the_same_facts_is_skipped_and_a_new_fact_ends_the_skipping(
    system: System, lives: dict[str, str]
) -> None:
    """A pass on the same day over the facts of the last one would set every gauge to what it holds: it is skipped
    (issue 20: at national scale a pass costs seconds of the database the reports wait for); a fact folded since,
    or a new day, and the pass runs again."""
    runtime = system.reporting.app.state.runtime
    on = date(2026, 12, 7)
    ratio = {"unit": "09169", "modality": "voluntary_community"}
    seen = await refresh(runtime, on)
    ATTAINMENT.labels(*ratio.values()).set(-1.0)  # a mark a pass would overwrite
    assert await refresh(runtime, on, since=seen) == seen
    assert REGISTRY.get_sample_value("rehab_quota_attainment_ratio", ratio) == -1.0
    assert await refresh(runtime, date(2026, 12, 8), since=seen) != seen  # a new day
    assert REGISTRY.get_sample_value("rehab_quota_attainment_ratio", ratio) != -1.0

    seen = await refresh(runtime, on)
    ATTAINMENT.labels(*ratio.values()).set(-1.0)
    for quota in (4, 1):  # a plan revised, then back as it was
        answer = await system.quotas.http.put(
            "/api/v1/plans/2026/09169",
            json={"quotas": {"compulsory": 0, "voluntary_community": quota}, "document_number": f"KH-{quota}-G/UBND"},
            headers=system.quotas.auth(*PROVINCE),
        )
        assert answer.status_code < 300, answer.text
    await system.applied(seen[-1] + 2)
    assert await refresh(runtime, on, since=seen) != seen
    assert REGISTRY.get_sample_value("rehab_quota_attainment_ratio", ratio) != -1.0
