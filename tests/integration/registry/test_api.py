"""The registry API against the real stack: create, dedupe, validation, scope, determinations, moves, audit."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.registry.conftest import AN_BA, AN_CHAU, BAC_GIANG, SON_DONG, TAY_YEN_TU, THO_XUONG, person
from tests.support.polling import wait_for
from tests.support.services import ServiceClient, read_topic

pytestmark = pytest.mark.integration


async def test_create_then_read_the_file(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    created = await registry.http.post("/api/v1/persons", json=person(citizen_id="024090000001"), headers=officer)
    assert created.status_code == 201, created.text
    person_id = created.json()["person_id"]

    got = await registry.http.get(f"/api/v1/persons/{person_id}", headers=registry.auth("district_officer", SON_DONG))
    assert got.status_code == 200
    file = got.json()
    assert file["full_name"] == "Nguyễn Văn An" and file["citizen_id"] == "024090000001"
    assert file["commune_code"] == TAY_YEN_TU and file["status"] == "user" and file["registered_on"] == "2024-03-01"


async def test_a_known_citizen_id_answers_409_with_the_existing_person(registry: ServiceClient) -> None:
    officer = registry.auth("commune_police", TAY_YEN_TU)
    first = await registry.http.post("/api/v1/persons", json=person(citizen_id="024090000002"), headers=officer)
    again = await registry.http.post(
        "/api/v1/persons", json=person(full_name="Nguyen Van An", citizen_id="024 090 000 002"), headers=officer
    )
    assert again.status_code == 409
    assert again.json()["error"]["person_id"] == first.json()["person_id"]
    assert "citizen_id" in again.json()["error"]["fields"]


async def test_same_name_birth_date_and_commune_is_flagged_and_merge_resolves_it(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", AN_BA)
    body = person(full_name="Hoàng Thị Bích", date_of_birth="1985-01-02", sex="female", commune_code=AN_BA)
    first = (await registry.http.post("/api/v1/persons", json=body, headers=officer)).json()
    folded = {**body, "full_name": "hoang thi  bich", "village": "Bản Chào"}
    second = (await registry.http.post("/api/v1/persons", json=folded, headers=officer)).json()
    assert first["likely_duplicates"] == []
    assert second["likely_duplicates"] == [first["person_id"]]

    merged = await registry.http.post(
        f"/api/v1/persons/{first['person_id']}/merges",
        json={"duplicate_id": second["person_id"], "merged_on": "2024-04-01"},  # An Bá's account: before 2025-07-01
        headers=officer,
    )
    assert merged.status_code == 200, merged.text
    closed = (await registry.http.get(f"/api/v1/persons/{second['person_id']}", headers=officer)).json()
    assert closed["merged_into"] == first["person_id"]
    kept = (await registry.http.get(f"/api/v1/persons/{first['person_id']}", headers=officer)).json()
    assert kept["likely_duplicates"] == []
    again = await registry.http.post(
        f"/api/v1/persons/{second['person_id']}/addiction-determinations",
        json={"result": "addicted", "determined_on": "2024-03-05", "facility": "TTYT Sơn Động", "form_number": "1"},
        headers=registry.auth("health_facility", SON_DONG),
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "record_merged"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"citizen_id": "12345"}, "citizen_id", "12 digits"),
        ({"citizen_id": "02409000000A"}, "citizen_id", "12 digits"),
        ({"commune_code": "99999"}, "commune_code", "unknown commune"),
        ({"commune_code": SON_DONG}, "commune_code", "5-digit"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "future"),
        ({"recorded_on": "2999-01-01"}, "recorded_on", "future"),
        ({"full_name": None}, "full_name", "required"),
        ({"full_name": "   "}, "full_name", "required"),
        ({"sex": "x"}, "sex", "male"),
        ({"status": "drunk"}, "status", "user"),
    ],
)
async def test_bad_input_answers_422_with_a_message_per_field(
    registry: ServiceClient, change: dict[str, object], field: str, words: str
) -> None:
    body = person(**change)
    response = await registry.http.post(
        "/api/v1/persons", json=body, headers=registry.auth("commune_officer", SON_DONG)
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert field in error["fields"], error
    assert words in error["fields"][field], error


async def test_several_bad_fields_are_all_reported(registry: ServiceClient) -> None:
    body = person(citizen_id="1", date_of_birth="2999-01-01", full_name=None)
    response = await registry.http.post(
        "/api/v1/persons", json=body, headers=registry.auth("commune_officer", SON_DONG)
    )
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) >= {"citizen_id", "date_of_birth", "full_name"}


async def test_a_dissolved_commune_is_refused_after_the_2025_reform(registry: ServiceClient) -> None:
    body = person(commune_code="07660", recorded_on="2025-09-01")  # Xã An Bá merged on 2025-07-01
    response = await registry.http.post("/api/v1/persons", json=body, headers=registry.auth("province_officer", "24"))
    assert response.status_code == 422
    assert "07660" in response.json()["error"]["fields"]["commune_code"]


async def test_out_of_scope_access(registry: ServiceClient) -> None:
    own = registry.auth("commune_officer", TAY_YEN_TU)
    created = (await registry.http.post("/api/v1/persons", json=person(full_name="Lý Văn Cường"), headers=own)).json()
    pid = created["person_id"]

    neighbour = registry.auth("commune_officer", AN_CHAU)
    other_district = registry.auth("district_officer", "213")
    assert (await registry.http.get(f"/api/v1/persons/{pid}", headers=neighbour)).status_code == 404
    assert (await registry.http.get(f"/api/v1/persons/{pid}", headers=other_district)).status_code == 404
    assert (
        await registry.http.get(f"/api/v1/persons/{pid}", headers=registry.auth("province_officer", BAC_GIANG))
    ).status_code == 200
    create_elsewhere = await registry.http.post("/api/v1/persons", json=person(commune_code=THO_XUONG), headers=own)
    assert create_elsewhere.status_code == 403
    search_elsewhere = await registry.http.get("/api/v1/persons", params={"commune_code": AN_CHAU}, headers=own)
    assert search_elsewhere.status_code == 403
    for role in ("auditor", "ops", "admin"):
        denied = await registry.http.get(f"/api/v1/persons/{pid}", headers=registry.auth(role, BAC_GIANG))
        assert denied.status_code == 403, role
    assert (await registry.http.get(f"/api/v1/persons/{pid}")).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await registry.http.get(f"/api/v1/persons/{pid}", headers=bad)).status_code == 401
    police_determines = await registry.http.post(
        f"/api/v1/persons/{pid}/addiction-determinations",
        json={"result": "addicted", "determined_on": "2024-03-05", "facility": "x", "form_number": "1"},
        headers=registry.auth("commune_police", TAY_YEN_TU),
    )
    assert police_determines.status_code == 403


async def test_search_by_commune_status_and_name_in_your_area(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", AN_CHAU)
    for name, status in [("Đặng Văn Hùng", "addict"), ("Đặng Thị Hoa", "user"), ("Phạm Văn Hùng", "addict")]:
        body = person(full_name=name, status=status, commune_code=AN_CHAU)
        assert (await registry.http.post("/api/v1/persons", json=body, headers=officer)).status_code == 201
    found = await registry.http.get("/api/v1/persons", params={"q": "dang hung"}, headers=officer)
    assert [p["full_name"] for p in found.json()["items"]] == ["Đặng Văn Hùng"]
    addicts = await registry.http.get("/api/v1/persons", params={"status": "addict"}, headers=officer)
    assert {p["full_name"] for p in addicts.json()["items"]} == {"Đặng Văn Hùng", "Phạm Văn Hùng"}
    district = await registry.http.get(
        "/api/v1/persons", params={"commune_code": AN_CHAU}, headers=registry.auth("district_officer", SON_DONG)
    )
    assert district.json()["total"] == 3
    elsewhere = await registry.http.get("/api/v1/persons", headers=registry.auth("district_officer", "213"))
    assert elsewhere.json()["total"] == 0


async def test_determination_and_move_reach_the_read_model_and_kafka(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    body = person(full_name="Vi Văn Dũng", citizen_id="024090000099")
    pid = (await registry.http.post("/api/v1/persons", json=body, headers=officer)).json()["person_id"]
    determined = await registry.http.post(
        f"/api/v1/persons/{pid}/addiction-determinations",
        json={
            "result": "addicted",
            "determined_on": "2024-03-10",
            "facility": "TTYT Sơn Động",
            "form_number": "PKQ-17",
        },
        headers=registry.auth("health_facility", SON_DONG),
    )
    assert determined.status_code == 201, determined.text
    moved = await registry.http.post(
        f"/api/v1/persons/{pid}/residence-changes",
        json={"commune_code": AN_BA, "village": "Thôn Biểu", "moved_on": "2024-05-01"},
        headers=officer,
    )
    assert moved.status_code == 201, moved.text

    file = (await registry.http.get(f"/api/v1/persons/{pid}", headers=registry.auth("commune_officer", AN_BA))).json()
    assert file["status"] == "addict" and file["commune_code"] == AN_BA and file["village"] == "Thôn Biểu"
    assert file["determinations"][0]["form_number"] == "PKQ-17"
    assert file["determinations"][0]["facility"] == "TTYT Sơn Động"  # an event note: in the registry, not on Kafka
    assert (await registry.http.get(f"/api/v1/persons/{pid}", headers=officer)).status_code == 404  # moved away

    async def published() -> list[dict[str, object]]:
        records = await read_topic(registry.settings, "rehab.registry.events")
        return [v for k, v in records if k == pid.encode()]

    async def all_three() -> bool:
        return len(await published()) == 3

    await wait_for(all_three, 30)
    events = sorted(await published(), key=lambda e: int(str(e["stream_version"])))
    assert [e["event_type"] for e in events] == ["person_registered", "addiction_determined", "residence_changed"]
    assert events[1]["schema_version"] == 2
    assert events[1]["payload"] == {"result": "addicted", "form_number": "PKQ-17", "status": "addict"}
    assert events[2]["payload"] == {"from_commune": TAY_YEN_TU, "to_commune": AN_BA}
    assert events[2]["unit_code"] == AN_BA and events[1]["occurred_on"] == "2024-03-10"


async def test_refusals_speak_to_the_official(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    pid = (await registry.http.post("/api/v1/persons", json=person(full_name="Ma Văn Tư"), headers=officer)).json()[
        "person_id"
    ]
    same = await registry.http.post(
        f"/api/v1/persons/{pid}/residence-changes",
        json={"commune_code": TAY_YEN_TU, "moved_on": "2024-04-01"},
        headers=officer,
    )
    assert same.status_code == 409 and "already lives in commune" in same.json()["error"]["message"]
    early = await registry.http.post(
        f"/api/v1/persons/{pid}/residence-changes",
        json={"commune_code": AN_BA, "moved_on": "2024-01-01"},
        headers=officer,
    )
    assert early.status_code == 422 and "moved_on" in early.json()["error"]["fields"]
    vi = await registry.http.post(
        f"/api/v1/persons/{pid}/residence-changes",
        json={"commune_code": TAY_YEN_TU, "moved_on": "2024-04-01"},
        headers={**officer, "Accept-Language": "vi"},
    )
    assert vi.json()["error"]["message"].startswith("người này đã cư trú tại xã")


async def test_reads_and_changes_are_in_the_audit_log_which_cannot_be_altered(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU, sub="can-bo-xa-1")
    pid = (await registry.http.post("/api/v1/persons", json=person(full_name="Lục Văn Sáu"), headers=officer)).json()[
        "person_id"
    ]
    await registry.http.get(
        f"/api/v1/persons/{pid}", headers=registry.auth("district_officer", SON_DONG, sub="can-bo-huyen-2")
    )
    auditor = registry.auth("auditor", BAC_GIANG)
    trail = await registry.http.get("/api/v1/audit", params={"person_id": pid}, headers=auditor)
    assert trail.status_code == 200
    entries = [(e["action"], e["sub"]) for e in trail.json()["items"]]
    assert ("register", "can-bo-xa-1") in entries and ("read", "can-bo-huyen-2") in entries
    assert (await registry.http.get("/api/v1/audit", headers=officer)).status_code == 403
    assert (await registry.http.delete("/api/v1/audit", headers=auditor)).status_code == 405
    from sqlalchemy import text

    engine = registry.app.state.runtime.engine
    with pytest.raises(Exception, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE audit_log SET sub = 'someone-else'"))


async def test_two_officials_registering_the_same_citizen_at_once_create_one_record(registry: ServiceClient) -> None:
    body = person(full_name="Đồng Văn Kép", citizen_id="024090000555")
    police, officer = registry.auth("commune_police", TAY_YEN_TU), registry.auth("commune_officer", TAY_YEN_TU)
    answers = await asyncio.gather(
        *(registry.http.post("/api/v1/persons", json=body, headers=h) for h in (police, officer, police, officer))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    winner = next(a for a in answers if a.status_code == 201).json()["person_id"]
    assert {a.json()["error"]["person_id"] for a in answers if a.status_code == 409} == {winner}


async def test_the_contract_is_documented(registry: ServiceClient) -> None:
    paths = (await registry.http.get("/openapi.json")).json()["paths"]
    assert {"/api/v1/persons", "/api/v1/persons/{person_id}", "/api/v1/persons/imports"} <= set(paths)
    asyncapi = (await registry.http.get("/asyncapi")).text
    assert "person_registered" in asyncapi and "residence_changed" in asyncapi
    assert (await registry.http.get("/health/ready")).status_code == 200


async def test_values_no_database_takes_are_422_not_500(registry: ServiceClient) -> None:
    officer = registry.auth("district_officer", SON_DONG)
    for params in ({"q": "\x00"}, {"commune_code": "0761\x00"}, {"page": str(10**20)}):
        answer = await registry.http.get("/api/v1/persons", params=params, headers=officer)
        assert answer.status_code == 422, (params, answer.text)
