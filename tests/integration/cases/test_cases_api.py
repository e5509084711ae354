"""The cases API against the real stack: a full life, every refusal with its status and message, moves, races."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.cases.conftest import AN_BA, DISTRICT, SON_DONG, TAY_YEN_TU, Pair
from tests.support.polling import wait_for
from tests.support.services import read_topic

pytestmark = pytest.mark.integration


async def test_a_full_life_enrol_abscond_return_complete_post_rehab_end(pair: Pair) -> None:
    person_id = await pair.addict()
    http, district = pair.cases.http, pair.cases.auth(*DISTRICT)
    police = pair.cases.auth("commune_police", TAY_YEN_TU)
    commune = pair.cases.auth("commune_officer", TAY_YEN_TU)

    enrolled = await pair.enrol(person_id)
    assert enrolled.status_code == 201, enrolled.text
    case_id = enrolled.json()["case_id"]
    steps = [
        (f"/api/v1/cases/{case_id}/abscondment", {"absconded_on": "2024-03-01"}, police, "absconded"),
        (f"/api/v1/cases/{case_id}/return", {"returned_on": "2024-03-21"}, police, "active"),
        (
            f"/api/v1/cases/{case_id}/completion",
            {"completed_on": "2025-02-04", "certificate_number": "GCN-7"},
            district,
            "completed",
        ),
        (
            f"/api/v1/cases/{case_id}/post-rehab",
            {
                "decision_number": "QD-QLSC-3",
                "decided_on": "2025-02-06",
                "starts_on": "2025-02-06",
                "mentor": "Hội Cựu chiến binh xã",
            },
            commune,
            "post_rehab",
        ),
        (
            f"/api/v1/cases/{case_id}/post-rehab/end",
            {"ended_on": "2026-11-01", "certificate_number": "GCN-QLSC-1"},
            commune,
            "post_rehab_ended",
        ),
    ]
    for path, body, who, state in steps:
        answer = await http.post(path, json=body, headers=who)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["state"] == state
    case = (await http.get(f"/api/v1/cases/{case_id}", headers=district)).json()
    assert case["absconded_days"] == 20 and case["planned_end"] == "2025-02-04"
    assert case["post_rehab_months"] == 24 and case["post_rehab_ends_on"] == "2027-02-06"
    assert case["closed_on"] == "2026-11-01" and case["certificate_number"] == "GCN-7"

    async def published() -> list[str]:
        records = await read_topic(pair.cases.settings, "rehab.cases.events")
        mine = sorted((v for k, v in records if k == case_id.encode()), key=lambda v: int(v["stream_version"]))
        return [str(v["event_type"]) for v in mine]

    async def all_six() -> bool:
        return len(await published()) == 6

    await wait_for(all_six, 30)
    assert await published() == [
        "case_enrolled",
        "case_absconded",
        "case_returned",
        "case_completed",
        "post_rehab_started",
        "post_rehab_ended",
    ]


async def test_each_refusal_has_its_status_and_message(pair: Pair) -> None:
    http, district = pair.cases.http, pair.cases.auth(*DISTRICT)
    person_id = await pair.addict()
    case_id = (await pair.enrol(person_id)).json()["case_id"]
    await http.post(f"/api/v1/cases/{case_id}/abscondment", json={"absconded_on": "2024-04-01"}, headers=district)

    absconded = await http.post(
        f"/api/v1/cases/{case_id}/completion",
        json={"completed_on": "2025-03-01", "certificate_number": "X"},
        headers=district,
    )
    assert absconded.status_code == 409
    assert absconded.json()["error"]["message"] == (
        "the person absconded on 2024-04-01 and has not returned: record the return before completion"
    )
    second = await pair.enrol(person_id, modality="voluntary_community", planned_months=6, court_decision_number=None)
    assert second.status_code == 409 and second.json()["error"]["code"] == "open_case_exists"
    assert second.json()["error"]["case_id"] == case_id
    early = await http.post(
        f"/api/v1/cases/{case_id}/post-rehab",
        json={"decision_number": "Q", "decided_on": "2024-05-01", "starts_on": "2024-05-01", "mentor": "M"},
        headers=pair.cases.auth("commune_officer", TAY_YEN_TU),
    )
    assert early.status_code == 409
    assert early.json()["error"]["message"] == "post-rehab management can only start after the treatment is completed"
    backwards = await http.post(f"/api/v1/cases/{case_id}/return", json={"returned_on": "2024-03-01"}, headers=district)
    assert backwards.status_code == 422 and "returned_on" in backwards.json()["error"]["fields"]
    assert "before the case's last recorded step" in backwards.json()["error"]["message"]

    other = await pair.addict()
    no_court = await pair.enrol(other, court_decision_number=None)
    assert no_court.status_code == 422
    assert no_court.json()["error"]["fields"] == {
        "court_decision_number": "compulsory rehab needs the number of the court decision"
    }
    too_short = await pair.enrol(other, planned_months=6)
    assert too_short.status_code == 422 and "lasts 12 to 24 months" in too_short.json()["error"]["message"]
    unknown = await pair.enrol("0190b5a0-0000-7000-8000-000000000000")
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_person"
    not_addict = await pair.addict(determined=False)
    undetermined = await pair.enrol(not_addict)
    assert undetermined.status_code == 409 and undetermined.json()["error"]["code"] == "not_determined_addicted"

    facility = pair.cases.auth("health_facility", SON_DONG)
    wrong_role = await http.post(
        "/api/v1/cases",
        json={
            "person_id": other,
            "modality": "compulsory",
            "decision_number": "Q",
            "decided_on": "2024-01-10",
            "started_on": "2024-01-10",
            "planned_months": 12,
            "court_decision_number": "TA",
        },
        headers=facility,
    )
    assert wrong_role.status_code == 403
    methadone = await http.post(
        "/api/v1/cases",
        json={
            "person_id": other,
            "modality": "methadone",
            "decision_number": "MMT-1",
            "decided_on": "2024-01-10",
            "started_on": "2024-01-10",
        },
        headers=facility,
    )
    assert methadone.status_code == 201, methadone.text
    police_completes = await http.post(
        f"/api/v1/cases/{methadone.json()['case_id']}/completion",
        json={"completed_on": "2024-06-01", "certificate_number": "X"},
        headers=pair.cases.auth("commune_police", TAY_YEN_TU),
    )
    assert police_completes.status_code == 403
    elsewhere = await http.get(f"/api/v1/cases/{case_id}", headers=pair.cases.auth("district_officer", "213"))
    assert elsewhere.status_code == 404


async def test_a_move_in_the_registry_moves_the_open_case_to_the_new_commune(pair: Pair) -> None:
    person_id = await pair.addict(TAY_YEN_TU)
    case_id = (await pair.enrol(person_id)).json()["case_id"]
    moved = await pair.registry.http.post(
        f"/api/v1/persons/{person_id}/residence-changes",
        json={"commune_code": AN_BA, "village": "Thôn Biểu", "moved_on": "2024-06-01"},
        headers=pair.registry.auth("commune_officer", TAY_YEN_TU),
    )
    assert moved.status_code == 201
    new_commune = pair.cases.auth("commune_officer", AN_BA)

    async def followed() -> bool:
        answer = await pair.cases.http.get(f"/api/v1/cases/{case_id}", headers=new_commune)
        return answer.status_code == 200 and answer.json()["commune_code"] == AN_BA

    await wait_for(followed, 30)
    old = await pair.cases.http.get(f"/api/v1/cases/{case_id}", headers=pair.cases.auth("commune_officer", TAY_YEN_TU))
    assert old.status_code == 404

    async def transferred() -> bool:
        records = await read_topic(pair.cases.settings, "rehab.cases.events")
        return any(
            k == case_id.encode()
            and v["event_type"] == "case_transferred"
            and v["unit_code"] == AN_BA
            and v["actor"]["role"] == "system"
            for k, v in records
        )

    await wait_for(transferred, 30)


async def test_two_officials_completing_the_same_case_at_once_one_wins_the_other_gets_409(pair: Pair) -> None:
    person_id = await pair.addict()
    case_id = (await pair.enrol(person_id)).json()["case_id"]
    body = {"completed_on": "2025-01-20", "certificate_number": "GCN-9"}
    officers = [
        pair.cases.auth(*DISTRICT, sub="can-bo-1"),
        pair.cases.auth("commune_officer", TAY_YEN_TU, sub="can-bo-2"),
    ]
    answers = await asyncio.gather(
        *(pair.cases.http.post(f"/api/v1/cases/{case_id}/completion", json=body, headers=h) for h in officers)
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    case = (await pair.cases.http.get(f"/api/v1/cases/{case_id}", headers=officers[0])).json()
    assert case["state"] == "completed" and case["version"] == 2


async def test_deadlines_show_completers_waiting_and_absconders(pair: Pair) -> None:
    district = pair.cases.auth(*DISTRICT)
    waiting = await pair.addict(AN_BA)
    waiting_case = (await pair.enrol(waiting)).json()["case_id"]
    await pair.cases.http.post(
        f"/api/v1/cases/{waiting_case}/completion",
        json={"completed_on": "2025-01-20", "certificate_number": "G"},
        headers=district,
    )
    runaway = await pair.addict(AN_BA)
    runaway_case = (await pair.enrol(runaway)).json()["case_id"]
    await pair.cases.http.post(
        f"/api/v1/cases/{runaway_case}/abscondment", json={"absconded_on": "2025-01-01"}, headers=district
    )
    due = (
        await pair.cases.http.get(
            "/api/v1/deadlines", params={"unit_code": AN_BA, "as_of": "2025-02-01"}, headers=district
        )
    ).json()
    # 3 + 2 working days from Monday 20 January 2025: Tết (27 January to 1 February) does not count
    assert [
        (d["case_id"], d["days_waiting"], d["due_on"], d["overdue"]) for d in due["awaiting_post_rehab_decision"]
    ] == [(waiting_case, 12, "2025-02-03", False)]
    assert due["post_rehab_decision_working_days"] == 5 and due["rules_from"] == "2022-01-01"
    later = (
        await pair.cases.http.get(
            "/api/v1/deadlines", params={"unit_code": AN_BA, "as_of": "2025-02-04"}, headers=district
        )
    ).json()
    assert [d["overdue"] for d in later["awaiting_post_rehab_decision"]] == [True]
    assert [(d["case_id"], d["days_at_large"]) for d in due["absconders_at_large"]] == [(runaway_case, 31)]
    overrun = {d["case_id"]: d["days_past"] for d in due["planned_end_passed"]}  # the case moved here earlier
    assert {waiting_case, runaway_case}.isdisjoint(overrun) and all(days > 0 for days in overrun.values())


async def test_a_death_recorded_in_the_registry_terminates_the_open_case(pair: Pair) -> None:
    person_id = await pair.addict()
    case_id = (await pair.enrol(person_id)).json()["case_id"]
    died = await pair.registry.http.post(
        f"/api/v1/persons/{person_id}/death",
        json={"died_on": "2024-08-01"},
        headers=pair.registry.auth("commune_officer", TAY_YEN_TU),
    )
    assert died.status_code == 201, died.text

    async def terminated() -> bool:
        case = (await pair.cases.http.get(f"/api/v1/cases/{case_id}", headers=pair.cases.auth(*DISTRICT))).json()
        return bool(case["state"] == "terminated" and case["closed_on"] == "2024-08-01")

    await wait_for(terminated, 30)
