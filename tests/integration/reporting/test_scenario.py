"""The Sơn Động 2024 plan as a scenario through the real stack; every figure below is computed by hand.

People (registered 2023-12-01 and determined addicted unless said otherwise; J on 2024-06-01):
  A 07616  compulsory from 2024-02-01, absconded 2024-05-01 (still at large)
  B 07636  compulsory from 2023-03-01, completed 2024-03-05, post-rehab decision 2024-03-10
  C 07636  female, voluntary community from 2024-03-01, completed 2024-09-02, no post-rehab decision
  D 07660  voluntary community from 2024-04-01, completed 2024-10-01, post-rehab decision 2024-10-05
  E 07627  methadone since 2023-06-01, still in treatment
  F 07627  methadone from 2024-02-01, completed 2024-08-01, post-rehab decision 2024-08-03
  G 07616  methadone from 2024-05-01, dropped out 2024-07-01
  H 07660  addict, never enrolled
  I 07660  user (not determined), never enrolled
  J 07636  registered 2024-06-01, compulsory from 2024-07-01
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.encoders import jsonable_encoder
from sqlalchemy import select

from services.reporting.apply import apply
from services.reporting.facts import create_generation, drop_generation, facts
from services.reporting.periods import parse_period
from services.reporting.rebuild import Rebuild
from services.reporting.reports import Reports
from services.topology import ALL_TOPICS
from shared.kernel.events import Envelope
from tests.integration.reporting.conftest import DATA, System
from tests.support.polling import wait_until
from tests.support.services import read_topic

pytestmark = pytest.mark.integration
EXPECTED_EVENTS = 10 + 9 + 10 + 17  # registrations, determinations, plans (8 + 2 from the indicators), cases


@pytest.fixture(scope="module")
async def scenario(system: System) -> System:
    admin = system.quotas.auth("admin", "VN")
    for name, form in (
        ("son-dong-2024-appendix.tsv", {"year": "2024", "unit_code": "220"}),
        ("plan-indicators-from-seeds.csv", {}),
    ):
        answer = await system.quotas.http.post(
            "/api/v1/plans/imports",
            files={"file": (name, (DATA / name).read_bytes(), "text/csv")},
            data={**form, "document_number": "KH Sơn Động 2024"},
            headers=admin,
        )
        assert answer.status_code == 200, answer.text
    s = system
    a, b, c = (
        await s.person("07616", "1990-01-01"),
        await s.person("07636", "1985-01-01"),
        await s.person("07636", "1995-01-01", sex="female"),
    )
    d, e, f = (
        await s.person("07660", "2000-01-01"),
        await s.person("07627", "1980-01-01"),
        await s.person("07627", "1975-01-01"),
    )
    g, h = await s.person("07616", "1992-01-01"), await s.person("07660", "1988-01-01")
    await s.person("07660", "2006-01-01", status="user")
    j = await s.person("07636", "1991-01-01", recorded_on="2024-06-01")
    for person in (a, b, c, d, e, f, g, h, j):
        await s.known_to_cases(person, "addict")
    case_a = await s.enrol(a, "compulsory", "2024-02-01", 12)
    await s.step(case_a, "abscondment", {"absconded_on": "2024-05-01"}, ("commune_police", "07616"))
    case_b = await s.enrol(b, "compulsory", "2023-03-01", 12, decided="2023-02-20")
    await s.step(case_b, "completion", {"completed_on": "2024-03-05", "certificate_number": "GCN-B"})
    await s.step(
        case_b,
        "post-rehab",
        {"decision_number": "QĐ-B", "decided_on": "2024-03-10", "starts_on": "2024-03-10", "mentor": "Hội CCB"},
        ("commune_officer", "07636"),
    )
    case_c = await s.enrol(c, "voluntary_community", "2024-03-01", 6)
    await s.step(case_c, "completion", {"completed_on": "2024-09-02", "certificate_number": "GCN-C"})
    case_d = await s.enrol(d, "voluntary_community", "2024-04-01", 6)
    await s.step(case_d, "completion", {"completed_on": "2024-10-01", "certificate_number": "GCN-D"})
    await s.step(
        case_d,
        "post-rehab",
        {"decision_number": "QĐ-D", "decided_on": "2024-10-05", "starts_on": "2024-10-05", "mentor": "Hội Phụ nữ"},
        ("commune_officer", "07660"),
    )
    await s.enrol(e, "methadone", "2023-06-01")
    case_f = await s.enrol(f, "methadone", "2024-02-01")
    await s.step(
        case_f, "completion", {"completed_on": "2024-08-01", "certificate_number": "GCN-F"}, ("health_facility", "220")
    )
    await s.step(
        case_f,
        "post-rehab",
        {"decision_number": "QĐ-F", "decided_on": "2024-08-03", "starts_on": "2024-08-03", "mentor": "Đoàn TN"},
        ("commune_officer", "07627"),
    )
    case_g = await s.enrol(g, "methadone", "2024-05-01")
    await s.step(case_g, "dropout", {"dropped_on": "2024-07-01", "reason": "bỏ điều trị"}, ("health_facility", "220"))
    case_j = await s.enrol(j, "compulsory", "2024-07-01", 12)
    await system.applied(EXPECTED_EVENTS)
    system.case_c, system.case_f, system.case_j = case_c, case_f, case_j  # type: ignore[attr-defined]
    return system


async def get(system: System, path: str, who: tuple[str, str] = ("district_officer", "220"), **params: str) -> Any:
    answer = await system.reporting.http.get(path, params=params, headers=system.reporting.auth(*who))
    assert answer.status_code == 200, answer.text
    return answer


async def test_quota_progress_equals_the_hand_count(scenario: System) -> None:
    report = (await get(scenario, "/api/v1/reports/quota-progress", year="2024", unit_code="220")).json()
    by_unit = {
        u["unit_code"]: (
            u["quota"]["compulsory"],
            u["achieved"]["compulsory"],
            u["quota"]["voluntary_community"],
            u["achieved"]["voluntary_community"],
        )
        for u in report["units"]
    }
    assert by_unit == {
        "07616": (1, 1, 0, 0),
        "07660": (0, 0, 1, 1),
        "07627": (1, 0, 0, 0),
        "07636": (1, 1, 1, 1),
        "07648": (1, 0, 1, 0),
        "07654": (1, 0, 1, 0),
        "07666": (0, 0, 1, 0),
    }
    total = report["total"]
    assert (total["quota"]["compulsory"], total["achieved"]["compulsory"], total["ratio"]["compulsory"]) == (5, 2, 0.4)
    assert (total["quota"]["voluntary_community"], total["achieved"]["voluntary_community"]) == (5, 2)


async def test_coverage_lists_the_completer_still_waiting(scenario: System) -> None:
    report = (await get(scenario, "/api/v1/reports/post-rehab-coverage", unit_code="220", as_of="2024-12-31")).json()
    assert (report["completers"], report["covered"], report["ratio"]) == (4, 3, 0.75)
    assert [(u["case_id"], u["days_waiting"], u["days_overdue"]) for u in report["uncovered"]] == [
        (scenario.case_c, 120, 112)
    ]  # type: ignore[attr-defined]
    # completed on Monday 2 September 2024 (National Day): 3 + 2 working days (Decree 116 Arts. 77-78) end on
    # Tuesday 10 September, as 3 September is the adjacent holiday; 112 days overdue on 31 December
    assert report["rules_from"] == "2022-01-01" and report["rules_unverified"] == []


async def test_indicators_equal_the_hand_count_with_targets_and_status(scenario: System) -> None:
    report = (await get(scenario, "/api/v1/reports/indicators", unit_code="220", period="2024")).json()
    got = {i["indicator"]: (i["value"], i["status"]) for i in report["indicators"]}
    assert got["compulsory_rehab_enrolments"] == (2, "behind")
    assert got["voluntary_community_rehab_enrolments"] == (2, "behind")
    assert got["methadone_enrolments"] == (2, None)
    assert got["post_rehab_management_coverage"] == (0.75, "behind")
    assert got["share_of_recorded_users_reaching_services"] == (0.8, None)
    assert got["share_of_managed_addicts_not_in_treatment_who_register"] == (0.8333, "met")
    assert got["methadone_patients_maintained"] == (1, "behind")
    assert got["absconders_at_large"] == (1, "behind")
    assert got["completers_awaiting_post_rehab_decision"] == (1, "behind")
    half = (await get(scenario, "/api/v1/reports/indicators", unit_code="07636", period="2024-H1")).json()
    first_half = {i["indicator"]: i["value"] for i in half["indicators"]}
    assert first_half["voluntary_community_rehab_enrolments"] == 1 and first_half["compulsory_rehab_enrolments"] == 0


async def test_the_periodic_report_in_three_formats(scenario: System) -> None:
    report = (await get(scenario, "/api/v1/reports/periodic", unit_code="220", period="2024")).json()
    assert {"indicators", "quota_progress", "coverage", "breakdowns", "outstanding"} <= set(report)
    assert {"modality": "voluntary_community", "sex": "female", "count": 1} in report["breakdowns"][
        "enrolments_by_modality_and_sex"
    ]
    assert report["breakdowns"]["on_record_by_age_band"] == [
        {"age_band": "18-30", "count": 3},
        {"age_band": "30+", "count": 7},
    ]
    csv_text = (await get(scenario, "/api/v1/reports/periodic", unit_code="220", period="2024", format="csv")).text
    assert "Tỷ lệ người hoàn thành được quản lý sau cai nghiện" in csv_text
    xlsx = (await get(scenario, "/api/v1/reports/periodic", unit_code="220", period="2024", format="xlsx")).content
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(xlsx))
    assert book.sheetnames == ["Chỉ số", "Chỉ tiêu cai nghiện", "Quản lý sau cai", "Phân tổ", "Tồn đọng"]
    assert book["Chỉ số"]["A4"].value == "Chỉ số"


async def test_duplicated_and_reordered_delivery_gives_the_same_numbers(scenario: System) -> None:
    settings = scenario.reporting.settings
    events = []
    for topic in ("rehab.quotas.events", "rehab.cases.events", "rehab.registry.events"):  # cases before persons
        events += [Envelope.model_validate(v) for _, v in await read_topic(settings, topic)]
    engine = scenario.reporting.app.state.runtime.engine
    period = parse_period("2024")
    async with engine.begin() as conn:
        f = await create_generation(conn, 90)
        for env in [*events, *reversed(events)]:  # every event twice, the second time in reverse order
            await apply(conn, f, env)
        replayed = jsonable_encoder(
            await Reports(conn, f, scenario.reporting.app.state.runtime.units).periodic("220", period)
        )
        await drop_generation(conn, 90)
    live = (await get(scenario, "/api/v1/reports/periodic", unit_code="220", period="2024")).json()
    assert json.dumps(replayed, sort_keys=True) == json.dumps(live, sort_keys=True)


async def test_a_rebuild_gives_byte_identical_reports(scenario: System) -> None:
    before = {
        fmt: (await get(scenario, "/api/v1/reports/periodic", unit_code="220", period="2024", format=fmt)).content
        for fmt in ("json", "csv", "xlsx")
    }
    ops = scenario.reporting.auth("ops", "VN")
    started = await scenario.reporting.http.post("/api/v1/projections/rebuild", headers=ops)
    assert started.status_code == 202, started.text
    assert (
        await scenario.reporting.http.post(
            "/api/v1/projections/rebuild", headers=scenario.reporting.auth("district_officer", "220")
        )
    ).status_code == 403

    async def projection_status() -> dict[str, Any]:
        return dict((await scenario.reporting.http.get("/api/v1/projections/status", headers=ops)).json())

    new = started.json()["generation"]
    status = await wait_until(
        projection_status, lambda s: (s["state"], s["generation"]) == ("live", new), interval=0.1, what="rebuild live"
    )
    assert status["generation"] == started.json()["generation"], status
    assert {p["topic"].split(".")[1] for p in status["partitions"]} == {"registry", "cases", "quotas"}
    after = {
        fmt: (await get(scenario, "/api/v1/reports/periodic", unit_code="220", period="2024", format=fmt)).content
        for fmt in ("json", "csv", "xlsx")
    }
    assert after == before


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_rebuild_two_events_at_a_time_folds_every_table_as_the_live_path(
    scenario: System, workers: int
) -> None:
    """Chunks of two events put most streams' events in several chunks: a stream already written is read back and
    folded on. Every table, the event log included, must equal the live path's (apply, one event at a time).
    With two workers, half the partitions are replayed by a worker process (a long replay's way, forced here)."""
    settings = scenario.reporting.settings
    events = []
    for topic in ALL_TOPICS:
        events += [Envelope.model_validate(v) for _, v in await read_topic(settings, topic)]
    engine = scenario.reporting.app.state.runtime.engine
    async with engine.begin() as conn:
        live = await create_generation(conn, 91)
        for env in events:
            await apply(conn, live, env)
    topics = tuple(settings.topic(t) for t in ALL_TOPICS)
    rebuild = Rebuild(engine, settings, topics, chunk_events=2 * workers, workers=workers, parallel_from=0)
    new = facts(await rebuild.start())
    await rebuild.wait()
    assert rebuild.progress["state"] == "done", rebuild.progress
    assert rebuild.progress["applied"] == len(events) == EXPECTED_EVENTS
    async with engine.begin() as conn:
        for expected, rebuilt in zip(live.all(), new.all(), strict=True):
            rows = [(await conn.execute(select(t).order_by(*t.primary_key.columns))).all() for t in (expected, rebuilt)]
            assert rows[1] == rows[0], rebuilt.name
        await drop_generation(conn, 91)


async def test_the_deadline_lists_of_the_cases_service_per_unit(scenario: System) -> None:
    year_end = (await get(scenario, "/api/v1/reports/outstanding", unit_code="220", as_of="2024-12-31")).json()
    assert [a["days_at_large"] for a in year_end["absconders_at_large"]] == [244]  # A, since 2024-05-01
    assert year_end["post_rehab_ending_within_30_days"] == [] and year_end["planned_end_passed"] == []
    # after the reform Huyện Sơn Động has no report: its cases are on province 24's lists, mapped to their communes
    gone = await scenario.reporting.http.get(
        "/api/v1/reports/outstanding",
        params={"unit_code": "220", "as_of": "2025-08-01"},
        headers=scenario.reporting.auth("district_officer", "220"),
    )
    assert gone.status_code == 422 and gone.json()["error"]["code"] == "unit_abolished", gone.text
    assert "07615" in gone.json()["error"]["successors"] and "07615 Xã Sơn Động" in gone.json()["error"]["message"]
    province = ("province_officer", "24")
    later = (await get(scenario, "/api/v1/reports/outstanding", province, unit_code="24", as_of="2025-08-01")).json()
    assert later["unit_name"] == "Tỉnh Bắc Ninh" and later["mapped_forward"] is True
    assert [(e["case_id"], e["days_left"]) for e in later["post_rehab_ending_within_30_days"]] == [(scenario.case_f, 2)]  # type: ignore[attr-defined]
    assert [(o["case_id"], o["days_past"]) for o in later["planned_end_passed"]] == [(scenario.case_j, 31)]  # type: ignore[attr-defined]
