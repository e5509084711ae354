"""Issue 14, finding 1: a citizen id on record in another province was an existence oracle. These are the attacks.

Before: an officer of Tây Yên Tử (07616, Bắc Giang) registering a citizen id on record in Thanh Xá (10852, Hải
Dương) got 409 with that person's id, and with a birth date after `recorded_on` an unknown id answered 422 and a
known one 409, so probing was free and left no trace. After: outside the caller's area the answer names no person
and no commune, the attempt is in the trail where Hải Dương's auditors and province officers find it, and an
invalid request answers the same whether or not the id is known, before any lookup.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from shared.runtime.ratelimit import rate_limits
from tests.integration.registry.conftest import BAC_GIANG, SON_DONG, TAY_YEN_TU, person
from tests.support.services import ServiceClient

pytestmark = pytest.mark.integration
THANH_XA, THANH_HA, HAI_DUONG = "10852", "294", "30"  # a commune, its district and its province


async def on_record_in_thanh_xa(registry: ServiceClient, citizen_id: str, name: str) -> str:
    home = registry.auth("commune_officer", THANH_XA, sub="can-bo-thanh-xa")
    body = person(full_name=name, citizen_id=citizen_id, commune_code=THANH_XA, village=None)
    answer = await registry.http.post("/api/v1/persons", json=body, headers=home)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["person_id"])


async def trail_of(registry: ServiceClient, person_id: str, unit: str = HAI_DUONG) -> list[dict[str, Any]]:
    auditor = registry.auth("auditor", unit)
    answer = await registry.http.get("/api/v1/audit", params={"person_id": person_id}, headers=auditor)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


@pytest.mark.parametrize(
    ("role", "unit", "citizen_id"),
    [("commune_officer", TAY_YEN_TU, "030090010852"), ("health_facility", SON_DONG, "030090020852")],
)
async def test_a_citizen_id_on_record_in_another_province_is_not_disclosed(
    registry: ServiceClient, role: str, unit: str, citizen_id: str
) -> None:
    existing = await on_record_in_thanh_xa(registry, citizen_id, "Phạm Văn Xá")
    prober = registry.auth(role, unit, sub=f"do-tham-{role}")

    answer = await registry.http.post("/api/v1/persons", json=person(citizen_id=citizen_id), headers=prober)
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "on_record_elsewhere"
    assert existing not in answer.text and THANH_XA not in answer.text and "person_id" not in error
    assert "transfer" in error["message"] and "chuyển nơi cư trú" in error["message"]  # how to ask, both languages
    assert error["message_vi"] and set(error["fields"]) == {"citizen_id"}
    searched = await registry.http.get("/api/v1/persons", params={"q": "Phạm Văn Xá"}, headers=prober)
    assert searched.json()["total"] == 0  # nothing was created in the prober's area

    [entry] = [e for e in await trail_of(registry, existing) if e["action"] == "register_refused_elsewhere"]
    assert (entry["sub"], entry["role"], entry["unit"], entry["unit_code"]) == (
        f"do-tham-{role}",
        role,
        unit,
        THANH_XA,
    )
    assert entry["detail"] == {"status": 409, "reason": "on_record_elsewhere", "attempted_commune": TAY_YEN_TU}

    province = registry.auth("province_officer", HAI_DUONG)
    seen = (await registry.http.get("/api/v1/registration-attempts", headers=province)).json()["items"]
    mine = [i for i in seen if i["person_id"] == existing]
    assert [(i["attempted_by"]["sub"], i["commune_code"], i["attempted_commune"]) for i in mine] == [
        (f"do-tham-{role}", THANH_XA, TAY_YEN_TU)
    ]
    # the prober's own province sees nothing of Hải Dương's people, and the prober may not read the list at all
    bac_giang = registry.auth("province_officer", BAC_GIANG)
    theirs = (await registry.http.get("/api/v1/registration-attempts", headers=bac_giang)).json()["items"]
    assert existing not in str(theirs)
    assert (await registry.http.get("/api/v1/registration-attempts", headers=prober)).status_code == 403


async def test_inside_the_area_a_known_citizen_id_still_answers_409_with_the_person(registry: ServiceClient) -> None:
    existing = await on_record_in_thanh_xa(registry, "030090030852", "Vũ Văn Trong")
    district = registry.auth("district_officer", THANH_HA, sub="can-bo-thanh-ha")
    again = person(citizen_id="030 090 030 852", commune_code=THANH_XA, full_name="Vu Van Trong")
    answer = await registry.http.post("/api/v1/persons", json=again, headers=district)
    assert answer.status_code == 409 and answer.json()["error"]["person_id"] == existing
    [entry] = [e for e in await trail_of(registry, existing) if e["action"] == "register_refused"]
    assert (entry["sub"], entry["unit_code"], entry["detail"]["reason"]) == ("can-bo-thanh-ha", THANH_XA, "conflict")


async def test_an_invalid_request_answers_the_same_for_a_known_and_an_unknown_id_before_any_lookup(
    registry: ServiceClient,
) -> None:
    known = "030090040852"
    await on_record_in_thanh_xa(registry, known, "Đỗ Văn Dò")
    sub = "do-tham-ngay-sinh"
    prober = registry.auth("commune_officer", TAY_YEN_TU, sub=sub)
    born_after_record = {"date_of_birth": "2024-05-01", "recorded_on": "2024-03-01"}
    answers = [
        await registry.http.post("/api/v1/persons", json=person(citizen_id=cid, **born_after_record), headers=prober)
        for cid in (known, "030090049999")
    ]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["error"]["code"] == "born_after_record"
    # no lookup happened: the account's identity lookups were never counted
    async with registry.app.state.runtime.engine.connect() as conn:
        counted = await conn.scalar(select(rate_limits.c.key).where(rate_limits.c.key == f"identity_lookups:{sub}"))
    assert counted is None
    # a valid request from the same account is counted (so the check above could fail)
    await registry.http.post("/api/v1/persons", json=person(citizen_id="030090049998"), headers=prober)
    async with registry.app.state.runtime.engine.connect() as conn:
        counted = await conn.scalar(select(rate_limits.c.key).where(rate_limits.c.key == f"identity_lookups:{sub}"))
    assert counted == f"identity_lookups:{sub}"
