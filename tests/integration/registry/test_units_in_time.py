"""Records follow the 2025 reorganisation (issue 16): today's officers see the people of the units they took over,
an abolished unit's account reads its history and records nothing after 2025-07-01, split communes wait on their
province's work list until an assignment decision."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.registry.conftest import AN_BA, AN_CHAU, BAC_GIANG, SON_DONG, TAY_YEN_TU, person
from tests.support.polling import wait_for
from tests.support.services import ServiceClient, read_topic

pytestmark = pytest.mark.integration

SON_DONG_NOW = AN_CHAU  # 07615: Thị trấn An Châu until 2025-06-30, Xã Sơn Động (which took in Xã An Bá) since
CONG_VI, NGOC_HA, GIANG_VO, HONG_HA, HA_NOI = "00007", "00008", "00025", "00097", "01"  # Cống Vị was split


async def registered(registry: ServiceClient, who: dict[str, str], **body: Any) -> str:
    created = await registry.http.post("/api/v1/persons", json=person(**body), headers=who)
    assert created.status_code == 201, created.text
    return str(created.json()["person_id"])


async def listed(registry: ServiceClient, who: dict[str, str], **params: Any) -> set[str]:
    answer = await registry.http.get("/api/v1/persons", params={"page_size": 200, **params}, headers=who)
    assert answer.status_code == 200, answer.text
    return {p["person_id"] for p in answer.json()["items"]}


async def test_the_successor_commune_reads_and_lists_a_person_registered_in_a_merged_commune(
    registry: ServiceClient,
) -> None:
    district = registry.auth("district_officer", SON_DONG)
    person_id = await registered(
        registry, district, commune_code=AN_BA, recorded_on="2025-03-01", full_name="Lò Văn Bá"
    )
    son_dong = registry.auth("commune_officer", SON_DONG_NOW)

    got = await registry.http.get(f"/api/v1/persons/{person_id}", headers=son_dong)
    assert got.status_code == 200, got.text
    assert got.json()["commune_code"] == AN_BA  # the original unit stays in the record
    assert person_id in await listed(registry, son_dong)
    assert person_id in await listed(registry, registry.auth("province_officer", BAC_GIANG), commune_code=SON_DONG_NOW)
    unrelated = registry.auth("commune_officer", TAY_YEN_TU)
    assert person_id not in await listed(registry, unrelated)
    assert (await registry.http.get(f"/api/v1/persons/{person_id}", headers=unrelated)).status_code == 404
    outside = await registry.http.get("/api/v1/persons", params={"commune_code": AN_BA}, headers=son_dong)
    assert outside.status_code == 403  # 07660 is no commune of today's hierarchy


async def test_an_abolished_unit_reads_its_history_and_records_nothing_after_the_reform(
    registry: ServiceClient,
) -> None:
    district = registry.auth("district_officer", SON_DONG)
    before = await registered(registry, district, commune_code=AN_BA, recorded_on="2025-06-30", full_name="Lò Văn Cũ")
    son_dong = registry.auth("commune_officer", SON_DONG_NOW)
    after = await registered(
        registry, son_dong, commune_code=SON_DONG_NOW, recorded_on="2025-10-15", full_name="Lò Mới"
    )

    assert (await registry.http.get(f"/api/v1/persons/{before}", headers=district)).status_code == 200
    assert (await registry.http.get(f"/api/v1/persons/{after}", headers=district)).status_code == 404
    history = await listed(registry, district)
    assert before in history and after not in history

    refused = await registry.http.post(
        "/api/v1/persons", json=person(commune_code=SON_DONG_NOW, recorded_on="2025-10-15"), headers=district
    )
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "unit_abolished" and SON_DONG_NOW in error["successors"]
    assert "Xã Sơn Động" in error["message"]
    determined = await registry.http.post(
        f"/api/v1/persons/{before}/addiction-determinations",
        json={"result": "addicted", "determined_on": "2025-10-15", "facility": "TTYT", "form_number": "7"},
        headers=district,
    )
    assert determined.status_code == 403 and determined.json()["error"]["code"] == "unit_abolished"
    earlier = await registry.http.post(
        f"/api/v1/persons/{before}/addiction-determinations",
        json={"result": "addicted", "determined_on": "2025-06-30", "facility": "TTYT", "form_number": "8"},
        headers=district,
    )
    assert earlier.status_code == 201, earlier.text


async def test_a_split_communes_person_waits_on_the_provinces_list_until_assigned(registry: ServiceClient) -> None:
    old_commune = registry.auth("commune_officer", CONG_VI)
    person_id = await registered(
        registry, old_commune, commune_code=CONG_VI, recorded_on="2025-03-01", full_name="Trần Văn Vị"
    )
    province = registry.auth("province_officer", HA_NOI)

    async def pending(who: dict[str, str], **params: Any) -> dict[str, Any]:
        answer = await registry.http.get("/api/v1/reorganisation/pending", params=params, headers=who)
        assert answer.status_code == 200, answer.text
        return {p["person_id"]: p for p in answer.json()["items"]}

    waiting = (await pending(province, unit_code=HA_NOI))[person_id]
    assert waiting["commune_code"] == CONG_VI and waiting["unit_now"] == HA_NOI
    assert [c["commune_code"] for c in waiting["candidates"]] == [NGOC_HA, GIANG_VO]
    candidate_police = registry.auth("commune_police", GIANG_VO)
    assert person_id in await pending(candidate_police)
    assert (await registry.http.get(f"/api/v1/persons/{person_id}", headers=candidate_police)).status_code == 200
    giang_vo = registry.auth("commune_officer", GIANG_VO)
    assert (await registry.http.get(f"/api/v1/persons/{person_id}", headers=giang_vo)).status_code == 404
    assert person_id not in await listed(registry, giang_vo)
    other_police = registry.auth("commune_police", HONG_HA)
    assert (await registry.http.get(f"/api/v1/persons/{person_id}", headers=other_police)).status_code == 404

    path = f"/api/v1/persons/{person_id}/assignment"
    decision = {"commune_code": GIANG_VO, "decided_on": "2025-09-01", "decision_number": "QD-PC-12/2025"}
    by_role = await registry.http.post(path, json=decision, headers=giang_vo)
    assert by_role.status_code == 403
    not_candidate = await registry.http.post(path, json=decision | {"commune_code": HONG_HA}, headers=province)
    assert not_candidate.status_code == 422 and not_candidate.json()["error"]["code"] == "not_a_successor"
    assert NGOC_HA in not_candidate.json()["error"]["message"]
    elsewhere = await registry.http.post(path, json=decision, headers=registry.auth("province_officer", BAC_GIANG))
    assert elsewhere.status_code == 404

    assigned = await registry.http.post(path, json=decision, headers=province)
    assert assigned.status_code == 201, assigned.text
    assert person_id not in await pending(province, unit_code=HA_NOI)
    file = await registry.http.get(f"/api/v1/persons/{person_id}", headers=giang_vo)
    assert file.status_code == 200 and file.json()["commune_code"] == GIANG_VO
    assert person_id in await listed(registry, giang_vo)
    again = await registry.http.post(path, json=decision, headers=province)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_awaiting_assignment"

    async def published() -> dict[str, Any] | None:
        records = await read_topic(registry.settings, "rehab.registry.events")
        found = [
            v
            for k, v in records
            if k == person_id.encode() and v["event_type"] == "person_assigned_after_reorganisation"
        ]
        return found[0] if found else None

    async def seen() -> bool:
        return await published() is not None

    await wait_for(seen, 30)
    event = await published()
    assert event is not None
    assert event["payload"] == {"from_commune": CONG_VI, "to_commune": GIANG_VO, "decision_number": "QD-PC-12/2025"}
    assert event["occurred_on"] == "2025-09-01" and event["unit_code"] == GIANG_VO
