"""Issue 16 item 7 through the cases API: drug tests (a positive one during post-rehab management goes on a work list
to decide the relapse), the notice and the report of a managed person's move on the sending and the receiving
commune's lists with their legal deadlines on both sides of 2026-07-01, electronic monitoring orders."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.cases.conftest import TAY_YEN_TU, Pair
from tests.support.polling import wait_for
from tests.support.services import read_topic

pytestmark = pytest.mark.integration
BAC_GIANG = "24"
SON_DONG_XA = "07615"  # a commune of the 2025 edition (moves after 2025-07-01 go to today's communes)


async def managed(pair: Pair, commune: str = TAY_YEN_TU) -> str:
    """A case under post-rehab management from 2025-07-15 (voluntary rehab in the community, 2025-01-10 to 07-10)."""
    person_id = await pair.addict(commune)
    officer = pair.cases.auth("commune_officer", commune)
    enrolled = await pair.cases.http.post(
        "/api/v1/cases",
        json={
            "person_id": person_id,
            "modality": "voluntary_community",
            "decision_number": "QD-CN-1/2025",
            "decided_on": "2025-01-10",
            "started_on": "2025-01-10",
            "planned_months": 6,
        },
        headers=officer,
    )
    assert enrolled.status_code == 201, enrolled.text
    case_id = str(enrolled.json()["case_id"])
    for path, body in (
        ("completion", {"completed_on": "2025-07-10", "certificate_number": "GCN-1"}),
        (
            "post-rehab",
            {"decision_number": "QD-QLSC-1", "decided_on": "2025-07-15", "starts_on": "2025-07-15", "mentor": "Hội"},
        ),
    ):
        answer = await pair.cases.http.post(f"/api/v1/cases/{case_id}/{path}", json=body, headers=officer)
        assert answer.status_code == 200, answer.text
    return case_id


async def deadlines(pair: Pair, headers: dict[str, str], as_of: str, **params: str) -> dict[str, Any]:
    answer = await pair.cases.http.get("/api/v1/deadlines", params={"as_of": as_of, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def move(pair: Pair, case_id: str, moved_on: str) -> None:
    person_id = (
        await pair.cases.http.get(f"/api/v1/cases/{case_id}", headers=pair.cases.auth("commune_officer", TAY_YEN_TU))
    ).json()["person_id"]
    moved = await pair.registry.http.post(
        f"/api/v1/persons/{person_id}/residence-changes",
        json={"commune_code": SON_DONG_XA, "village": "Thôn Mới", "moved_on": moved_on},
        headers=pair.registry.auth("commune_officer", TAY_YEN_TU),
    )
    assert moved.status_code == 201, moved.text
    receiving = pair.cases.auth("commune_officer", SON_DONG_XA)

    async def followed() -> bool:
        answer = await pair.cases.http.get(f"/api/v1/cases/{case_id}", headers=receiving)
        return answer.status_code == 200 and answer.json()["commune_code"] == SON_DONG_XA

    await wait_for(followed, 30)


async def test_a_positive_test_in_post_rehab_is_on_the_list_until_the_relapse_is_decided(pair: Pair) -> None:
    case_id = await managed(pair)
    http, police = pair.cases.http, pair.cases.auth("commune_police", TAY_YEN_TU, sub="cong-an-xa")
    officer = pair.cases.auth("commune_officer", TAY_YEN_TU)
    tests = f"/api/v1/cases/{case_id}/drug-tests"
    body = {"tested_on": "2025-09-01", "result": "positive", "facility": "Trạm Y tế xã Tây Yên Tử"}
    assert (await http.post(tests, json=body, headers=pair.cases.auth("auditor", BAC_GIANG))).status_code == 403
    elsewhere = await http.post(tests, json=body, headers=pair.cases.auth("health_facility", "01"))
    assert elsewhere.status_code == 404  # outside the area: no such case
    recorded = await http.post(tests, json=body, headers=police)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["state"] == "post_rehab"  # a test is not a relapse: the management goes on

    listed = await deadlines(pair, officer, "2025-09-03")
    [waiting] = listed["positive_test_during_post_rehab"]
    assert (waiting["case_id"], waiting["tested_on"], waiting["days_waiting"]) == (case_id, "2025-09-01", 2)
    case = (await http.get(f"/api/v1/cases/{case_id}", headers=officer)).json()
    assert case["positive_test_on"] == "2025-09-01"
    assert case["drug_tests"] == [
        {"tested_on": "2025-09-01", "result": "positive", "during": "post_rehab", "facility": body["facility"]}
    ]

    ruled_out = await http.post(
        f"/api/v1/cases/{case_id}/relapse-ruled-out",
        json={"decided_on": "2025-09-05", "reason": "kết quả xác định: không nghiện"},
        headers=officer,
    )
    assert ruled_out.status_code == 200, ruled_out.text
    assert (await deadlines(pair, officer, "2025-09-06"))["positive_test_during_post_rehab"] == []
    again = await http.post(
        f"/api/v1/cases/{case_id}/relapse-ruled-out", json={"decided_on": "2025-09-06"}, headers=officer
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_positive_test"

    await http.post(tests, json={**body, "tested_on": "2025-10-01"}, headers=police)
    relapse = await http.post(f"/api/v1/cases/{case_id}/relapse", json={"detected_on": "2025-10-10"}, headers=police)
    assert relapse.status_code == 200 and relapse.json()["state"] == "relapsed"
    assert (await deadlines(pair, officer, "2025-10-11"))["positive_test_during_post_rehab"] == []
    closed = await http.post(tests, json={**body, "tested_on": "2025-10-12"}, headers=police)
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "invalid_transition"

    async def published() -> list[dict[str, Any]]:
        records = await read_topic(pair.cases.settings, "rehab.cases.events")
        return [v for k, v in records if k == case_id.encode() and v["event_type"] == "drug_test_recorded"]

    async def both() -> bool:
        return len(await published()) == 2

    await wait_for(both, 30)
    for event in await published():  # pseudonymous: the facility's name stays in the cases service
        assert event["payload"]["facility_named"] is True and "Trạm" not in str(event)


async def test_the_notice_and_report_of_a_move_under_law_120_on_both_communes_lists(pair: Pair) -> None:
    case_id = await managed(pair)
    await move(pair, case_id, "2026-07-10")
    sender = pair.cases.auth("commune_police", TAY_YEN_TU, sub="cong-an-noi-di")
    receiver = pair.cases.auth("commune_police", SON_DONG_XA, sub="cong-an-noi-den")

    for who, side in ((sender, "sending"), (receiver, "receiving")):
        due = await deadlines(pair, who, "2026-07-11")
        [notice] = [n for n in due["move_notices_pending"] if n["case_id"] == case_id]
        [report] = [r for r in due["move_reports_pending"] if r["case_id"] == case_id]
        assert (notice["due_on"], notice["overdue"], notice["side"], notice["rules_from"]) == (
            "2026-07-11",
            False,
            side,
            "2026-07-01",
        )
        assert (notice["from_commune"], notice["to_commune"], notice["moved_on"]) == (
            TAY_YEN_TU,
            SON_DONG_XA,
            "2026-07-10",
        )
        assert "move_notice_hours" in notice["rules_unverified"]  # 24 hours: press reports of Law 120/2025
        assert (report["due_on"], report["overdue"]) == ("2026-07-11", False)
    late = await deadlines(pair, sender, "2026-07-12")
    assert [n["overdue"] for n in late["move_notices_pending"] if n["case_id"] == case_id] == [True]

    path = f"/api/v1/cases/{case_id}/move-notice"
    body = {"noticed_on": "2026-07-11", "move": notice["move"]}
    assert (await pair.cases.http.post(path, json=body, headers=receiver)).status_code == 404  # not the sender
    as_officer = await pair.cases.http.post(path, json=body, headers=pair.cases.auth("commune_officer", TAY_YEN_TU))
    assert as_officer.status_code == 403  # the commune police notify
    noticed = await pair.cases.http.post(path, json=body, headers=sender)
    assert noticed.status_code == 200, noticed.text
    twice = await pair.cases.http.post(path, json=body, headers=sender)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_recorded"

    report_path = f"/api/v1/cases/{case_id}/move-report"
    assert (
        await pair.cases.http.post(report_path, json={"reported_on": "2026-07-11"}, headers=sender)
    ).status_code == 404  # the receiving commune takes the report
    reported = await pair.cases.http.post(
        report_path, json={"reported_on": "2026-07-11"}, headers=pair.cases.auth("commune_officer", SON_DONG_XA)
    )
    assert reported.status_code == 200, reported.text
    for who in (sender, receiver):
        done = await deadlines(pair, who, "2026-07-12")
        assert case_id not in str(done["move_notices_pending"]) + str(done["move_reports_pending"])
    case = (await pair.cases.http.get(f"/api/v1/cases/{case_id}", headers=receiver)).json()
    [moved] = case["moves"]
    assert (moved["noticed_on"], moved["reported_on"], moved["notice_due_on"]) == (
        "2026-07-11",
        "2026-07-11",
        "2026-07-11",
    )

    auditor = pair.cases.auth("auditor", BAC_GIANG)
    trail = (await pair.cases.http.get("/api/v1/audit", params={"page_size": 200}, headers=auditor)).json()["items"]
    shown = {(e["sub"], e["detail"].get("list")) for e in trail if e["detail"].get("case_id") == case_id}
    assert {("cong-an-noi-di", "move_notices_pending"), ("cong-an-noi-den", "move_reports_pending")} <= shown


async def test_a_move_under_law_73_owes_a_notice_in_five_working_days_and_no_report(pair: Pair) -> None:
    case_id = await managed(pair)
    await move(pair, case_id, "2026-02-13")  # the Friday before Tết 2026 (16-20 February off)
    sender = pair.cases.auth("commune_police", TAY_YEN_TU)
    due = await deadlines(pair, sender, "2026-02-27")
    [notice] = [n for n in due["move_notices_pending"] if n["case_id"] == case_id]
    assert (notice["due_on"], notice["overdue"], notice["rules_from"], notice["rules_unverified"]) == (
        "2026-02-27",
        False,
        "2022-01-01",
        [],
    )
    assert case_id not in str(due["move_reports_pending"])  # Law 73/2021 sets no deadline for the person's report
    later = await deadlines(pair, pair.cases.auth("commune_officer", SON_DONG_XA), "2026-03-02")
    assert [(n["overdue"], n["side"]) for n in later["move_notices_pending"] if n["case_id"] == case_id] == [
        (True, "receiving")
    ]


async def test_electronic_monitoring_from_2026_07_01_by_the_commune_police(pair: Pair) -> None:
    case_id = await managed(pair)
    http, path = pair.cases.http, f"/api/v1/cases/{case_id}/electronic-monitoring"
    chief = pair.cases.auth("commune_police", TAY_YEN_TU, sub="truong-cong-an-xa")
    body = {"ordered_on": "2026-07-01", "starts_on": "2026-07-02", "ends_on": "2027-07-01"}
    early = await http.post(path, json={**body, "ordered_on": "2026-06-30"}, headers=chief)
    assert early.status_code == 422 and early.json()["error"]["code"] == "monitoring_not_in_force"
    assert (await http.post(path, json=body, headers=pair.cases.auth("commune_officer", TAY_YEN_TU))).status_code == 403
    assert (await http.post(path, json=body, headers=pair.cases.auth("commune_police", SON_DONG_XA))).status_code == 404
    ordered = await http.post(path, json=body, headers=chief)
    assert ordered.status_code == 200, ordered.text
    running = await http.post(path, json={**body, "ordered_on": "2026-07-03", "starts_on": "2026-07-03"}, headers=chief)
    assert running.status_code == 409 and running.json()["error"]["code"] == "monitoring_running"
    ended = await http.post(f"{path}/end", json={"ended_on": "2026-07-10"}, headers=chief)
    assert ended.status_code == 200, ended.text
    [order] = (await http.get(f"/api/v1/cases/{case_id}", headers=chief)).json()["monitoring"]
    assert (order["ordered_by"], order["ordered_by_unit"], order["starts_on"], order["ends_on"], order["ended_on"]) == (
        "truong-cong-an-xa",
        TAY_YEN_TU,
        "2026-07-02",
        "2027-07-01",
        "2026-07-10",
    )
