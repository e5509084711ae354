"""Issue 14, findings 1 and 5 in the cases service: enrolment named another unit, and reads were not audited.

Before: POST /cases for a person of another province answered 403 "…is managed by commune 10852, outside your
area", which confirmed the person and named their commune; GET /cases/{id} and GET /cases?person_id= (modality,
court decision) left no trace. After: that person answers exactly as an unknown one, and every case shown is an
entry of the cases service's own audit log, with its person.
"""

from __future__ import annotations

import pytest

from tests.integration.cases.conftest import DISTRICT, SON_DONG, TAY_YEN_TU, Pair

pytestmark = pytest.mark.integration
THANH_XA, THANH_HA, HAI_DUONG, BAC_GIANG = "10852", "294", "30", "24"
UNKNOWN = "0190b5a0-0000-7000-8000-000000000000"


async def addict_in_thanh_xa(pair: Pair) -> str:
    registry = pair.registry
    body = {
        "full_name": "Nông Văn Xa",
        "date_of_birth": "1990-04-12",
        "sex": "male",
        "commune_code": THANH_XA,
        "status": "user",
        "recorded_on": "2024-01-02",
    }
    answer = await registry.http.post("/api/v1/persons", json=body, headers=registry.auth("commune_officer", THANH_XA))
    person_id = str(answer.json()["person_id"])
    determination = {"result": "addicted", "determined_on": "2024-01-05", "facility": "TTYT", "form_number": "1"}
    await registry.http.post(
        f"/api/v1/persons/{person_id}/addiction-determinations",
        json=determination,
        headers=registry.auth("health_facility", THANH_HA),
    )
    await pair.known(person_id, "addict", THANH_XA)
    return person_id


@pytest.mark.parametrize(("who", "modality"), [(DISTRICT, "compulsory"), (("health_facility", SON_DONG), "methadone")])
async def test_enrolling_a_person_of_another_province_answers_as_for_an_unknown_person(
    pair: Pair, who: tuple[str, str], modality: str
) -> None:
    outsider = await addict_in_thanh_xa(pair)
    home = await pair.cases.http.post(
        "/api/v1/cases",
        json={
            "person_id": outsider,
            "modality": "voluntary_community",
            "decision_number": "QD-1/2024",
            "decided_on": "2024-01-10",
            "started_on": "2024-01-15",
            "planned_months": 6,
        },
        headers=pair.cases.auth("district_officer", THANH_HA),
    )
    assert home.status_code == 201, home.text  # an open case, which must not show through either

    async def enrol(person_id: str) -> tuple[int, str]:
        body = {
            "person_id": person_id,
            "modality": modality,
            "decision_number": "QD-2/2024",
            "decided_on": "2024-02-10",
            "started_on": "2024-02-15",
            "planned_months": 12,
            "court_decision_number": "05/2024/QĐ-TA",
        }
        answer = await pair.cases.http.post("/api/v1/cases", json=body, headers=pair.cases.auth(*who))
        return answer.status_code, answer.text.replace(person_id, "<id>")

    outside, unknown = await enrol(outsider), await enrol(UNKNOWN)
    assert outside == unknown
    assert THANH_XA not in outside[1] and "case_id" not in outside[1]
    assert outside[0] == 422 and "unknown_person" in outside[1]


async def test_every_case_shown_is_audited_with_its_person(pair: Pair) -> None:
    person_id = await pair.addict(TAY_YEN_TU)
    case_id = (await pair.enrol(person_id)).json()["case_id"]
    cases = pair.cases
    reader = cases.auth("commune_officer", TAY_YEN_TU, sub="can-bo-doc")
    assert (await cases.http.get(f"/api/v1/cases/{case_id}", headers=reader)).status_code == 200
    listed = await cases.http.get("/api/v1/cases", params={"person_id": person_id}, headers=reader)
    assert [c["case_id"] for c in listed.json()["items"]] == [case_id]
    deadlines = await cases.http.get("/api/v1/deadlines", params={"as_of": "2026-01-01"}, headers=reader)
    assert case_id in deadlines.text  # past its planned end
    outsider = cases.auth("commune_officer", "07660", sub="can-bo-xa-ben")
    assert (await cases.http.get(f"/api/v1/cases/{case_id}", headers=outsider)).status_code == 404

    auditor = cases.auth("auditor", BAC_GIANG)
    trail = (await cases.http.get("/api/v1/audit", params={"person_id": person_id}, headers=auditor)).json()["items"]
    mine = sorted((e["action"], e["detail"].get("case_id")) for e in trail if e["sub"] == "can-bo-doc")
    assert mine == [("deadlines", case_id), ("read_case", case_id), ("search_cases", case_id)]
    assert all(e["person_id"] == person_id and e["unit_code"] == TAY_YEN_TU for e in trail if e["sub"] == "can-bo-doc")
    everyone = (await cases.http.get("/api/v1/audit", params={"page_size": 200}, headers=auditor)).json()["items"]
    [refused] = [e for e in everyone if e["sub"] == "can-bo-xa-ben"]
    assert (refused["action"], refused["detail"]["reason"], refused["detail"]["case_id"]) == (
        "read_case_refused",
        "not_found",
        case_id,
    )

    elsewhere = cases.auth("auditor", HAI_DUONG)
    theirs = (await cases.http.get("/api/v1/audit", params={"person_id": person_id}, headers=elsewhere)).json()
    assert theirs["items"] == []  # Hải Dương's auditors do not see who read Bắc Giang's cases
    assert (await cases.http.get("/api/v1/audit", headers=reader)).status_code == 403
