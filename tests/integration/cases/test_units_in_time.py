"""Cases follow the 2025 reorganisation (issue 16): the successor commune acts on a case opened in a merged one,
an abolished district records nothing dated after 2025-07-01 (a 403 naming its successors) and keeps reading its
history, and a split commune's case moves to the commune an assignment decision names."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.cases.conftest import AN_BA, DISTRICT, TAY_YEN_TU, Pair
from tests.support.polling import wait_for

pytestmark = pytest.mark.integration

SON_DONG_NOW = "07615"  # Xã Sơn Động since 2025-07-01, which took in Xã An Bá (07660) whole
CONG_VI, GIANG_VO, HA_NOI = "00007", "00025", "01"  # Phường Cống Vị was split (Ngọc Hà 00008, Giảng Võ 00025)


async def on_record(pair: Pair, commune: str, recorder: tuple[str, str], recorded_on: str = "2025-03-01") -> str:
    """A person registered in `commune` on `recorded_on`, determined addicted, and known to the cases directory."""
    registry = pair.registry
    body = {
        "full_name": "Lò Văn Bá",
        "date_of_birth": "1990-04-12",
        "sex": "male",
        "commune_code": commune,
        "status": "user",
        "recorded_on": recorded_on,
    }
    created = await registry.http.post("/api/v1/persons", json=body, headers=registry.auth(*recorder))
    assert created.status_code == 201, created.text
    person_id = str(created.json()["person_id"])
    determined = await registry.http.post(
        f"/api/v1/persons/{person_id}/addiction-determinations",
        json={"result": "addicted", "determined_on": recorded_on, "facility": "TTYT", "form_number": "1"},
        headers=registry.auth(*recorder),
    )
    assert determined.status_code == 201, determined.text
    await pair.known(person_id, "addict")
    return person_id


def voluntary(person_id: str, on: str) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "modality": "voluntary_community",
        "decision_number": "QD-CNTN-3/2025",
        "decided_on": on,
        "started_on": on,
        "planned_months": 6,
    }


async def test_the_successor_commune_records_the_post_rehab_decision_the_district_cannot(pair: Pair) -> None:
    http = pair.cases.http
    district = pair.cases.auth(*DISTRICT)
    person_id = await on_record(pair, AN_BA, DISTRICT)
    enrolled = await http.post("/api/v1/cases", json=voluntary(person_id, "2025-03-10"), headers=district)
    assert enrolled.status_code == 201, enrolled.text
    case_id = enrolled.json()["case_id"]
    completion = {"completed_on": "2025-10-15", "certificate_number": "GCN-CNTN-15"}

    refused = await http.post(f"/api/v1/cases/{case_id}/completion", json=completion, headers=district)
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "unit_abolished" and SON_DONG_NOW in error["successors"]
    assert "07615 Xã Sơn Động" in error["message"] and "2025-07-01" in error["message"]

    son_dong = pair.cases.auth("commune_officer", SON_DONG_NOW)
    read = await http.get(f"/api/v1/cases/{case_id}", headers=son_dong)
    assert read.status_code == 200 and read.json()["commune_code"] == AN_BA  # the original unit stays
    completed = await http.post(f"/api/v1/cases/{case_id}/completion", json=completion, headers=son_dong)
    assert completed.status_code == 200, completed.text
    due = await http.get("/api/v1/deadlines", params={"as_of": "2025-10-16"}, headers=son_dong)
    assert case_id in {i["case_id"] for i in due.json()["awaiting_post_rehab_decision"]}
    decision = {
        "decision_number": "QD-QLSC-1/2025",
        "decided_on": "2025-10-17",
        "starts_on": "2025-10-17",
        "mentor": "Công an xã Sơn Động",
    }
    decided = await http.post(f"/api/v1/cases/{case_id}/post-rehab", json=decision, headers=son_dong)
    assert decided.status_code == 200 and decided.json()["state"] == "post_rehab", decided.text

    mine = await http.get("/api/v1/cases", params={"person_id": person_id}, headers=son_dong)
    assert [c["case_id"] for c in mine.json()["items"]] == [case_id]
    unrelated = pair.cases.auth("commune_officer", TAY_YEN_TU)
    assert (await http.get("/api/v1/cases", params={"person_id": person_id}, headers=unrelated)).json()["items"] == []
    assert (await http.get(f"/api/v1/cases/{case_id}", headers=unrelated)).status_code == 404

    history = await http.get(f"/api/v1/cases/{case_id}", headers=district)  # the district's history stays readable
    assert history.status_code == 200 and history.json()["state"] == "post_rehab"
    listed = await http.get("/api/v1/cases", params={"person_id": person_id}, headers=district)
    assert [c["case_id"] for c in listed.json()["items"]] == [case_id]


async def test_the_district_completes_a_case_dated_before_the_reform(pair: Pair) -> None:
    person_id = await pair.addict()
    case_id = (await pair.enrol(person_id)).json()["case_id"]
    completed = await pair.cases.http.post(
        f"/api/v1/cases/{case_id}/completion",
        json={"completed_on": "2025-06-30", "certificate_number": "GCN-30"},
        headers=pair.cases.auth(*DISTRICT),
    )
    assert completed.status_code == 200, completed.text
    refused = await pair.enrol(await pair.addict(), decided_on="2025-07-01", started_on="2025-07-01")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "unit_abolished"


async def test_a_case_after_the_reform_is_opened_under_todays_commune(pair: Pair) -> None:
    person_id = await on_record(pair, AN_BA, DISTRICT)
    son_dong = pair.cases.auth("commune_officer", SON_DONG_NOW)
    enrolled = await pair.cases.http.post("/api/v1/cases", json=voluntary(person_id, "2025-08-01"), headers=son_dong)
    assert enrolled.status_code == 201, enrolled.text
    case = await pair.cases.http.get(f"/api/v1/cases/{enrolled.json()['case_id']}", headers=son_dong)
    assert case.json()["commune_code"] == SON_DONG_NOW
    district = pair.cases.auth(*DISTRICT)
    assert (
        await pair.cases.http.get(f"/api/v1/cases/{enrolled.json()['case_id']}", headers=district)
    ).status_code == 404


async def test_a_split_communes_case_moves_to_the_assigned_commune(pair: Pair) -> None:
    person_id = await on_record(pair, CONG_VI, ("commune_officer", CONG_VI))
    province = pair.cases.auth("province_officer", HA_NOI)
    enrolled = await pair.cases.http.post("/api/v1/cases", json=voluntary(person_id, "2025-03-20"), headers=province)
    assert enrolled.status_code == 201, enrolled.text
    case_id = enrolled.json()["case_id"]
    giang_vo = pair.cases.auth("commune_officer", GIANG_VO)
    assert (await pair.cases.http.get(f"/api/v1/cases/{case_id}", headers=giang_vo)).status_code == 404

    assigned = await pair.registry.http.post(
        f"/api/v1/persons/{person_id}/assignment",
        json={"commune_code": GIANG_VO, "decided_on": "2025-09-01", "decision_number": "QD-PC-7/2025"},
        headers=pair.registry.auth("province_officer", HA_NOI),
    )
    assert assigned.status_code == 201, assigned.text

    async def followed() -> bool:
        answer = await pair.cases.http.get(f"/api/v1/cases/{case_id}", headers=giang_vo)
        return answer.status_code == 200 and answer.json()["commune_code"] == GIANG_VO

    await wait_for(followed, 30)
    await pair.known(person_id, "addict", GIANG_VO)
    listed = await pair.cases.http.get("/api/v1/cases", params={"person_id": person_id}, headers=giang_vo)
    assert [c["case_id"] for c in listed.json()["items"]] == [case_id]
