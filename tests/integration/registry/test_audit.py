"""The audit trail: every read of a person's file and every change, with who and when; nothing can alter it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.integration.registry.conftest import AN_BA, BAC_GIANG, SON_DONG, TAY_YEN_TU, person
from tests.support.services import ServiceClient

pytestmark = pytest.mark.integration


async def test_every_read_and_every_change_has_one_entry_with_who_and_when(registry: ServiceClient) -> None:
    started = datetime.now(UTC)
    police = registry.auth("commune_police", TAY_YEN_TU, sub="cong-an-xa-7")
    officer = registry.auth("commune_officer", TAY_YEN_TU, sub="can-bo-xa-7")
    district = registry.auth("district_officer", SON_DONG, sub="can-bo-huyen-7")
    facility = registry.auth("health_facility", SON_DONG, sub="ttyt-7")
    http = registry.http

    async def ok(method: str, url: str, who: dict[str, str], **kw: object) -> dict[str, object]:
        answer = await http.request(method, url, headers=who, **kw)  # type: ignore[arg-type]
        assert answer.status_code < 300, answer.text
        return dict(answer.json())

    pid = str((await ok("POST", "/api/v1/persons", police, json=person(full_name="Hà Văn Bảy")))["person_id"])
    twin = str(
        (await ok("POST", "/api/v1/persons", officer, json=person(full_name="Hà Văn Bảy", village=None)))["person_id"]
    )
    await ok("GET", f"/api/v1/persons/{pid}", district)
    await ok("GET", "/api/v1/persons", district, params={"q": "Bảy"})
    await ok(
        "POST",
        f"/api/v1/persons/{pid}/addiction-determinations",
        facility,
        json={"result": "addicted", "determined_on": "2024-03-05", "facility": "TTYT", "form_number": "7"},
    )
    await ok("POST", f"/api/v1/persons/{pid}/merges", officer, json={"duplicate_id": twin})
    await ok(
        "POST",
        f"/api/v1/persons/{pid}/residence-changes",
        district,
        json={"commune_code": AN_BA, "moved_on": "2024-05-01"},
    )
    await ok("POST", f"/api/v1/persons/{pid}/death", district, json={"died_on": "2024-06-01"})
    # a refused attempt changes nothing and reads nothing, but leaves an entry with its reason
    outside = registry.auth("commune_officer", TAY_YEN_TU, sub="hang-xom")
    assert (await http.get(f"/api/v1/persons/{pid}", headers=outside)).status_code == 404

    auditor = registry.auth("auditor", BAC_GIANG, sub="thanh-tra-7")
    trail = (await ok("GET", "/api/v1/audit", auditor, params={"person_id": pid}))["items"]
    assert isinstance(trail, list)
    got = sorted((e["action"], e["sub"], e["role"], e["unit"]) for e in trail)
    assert got == sorted(
        [
            ("register", "cong-an-xa-7", "commune_police", TAY_YEN_TU),
            ("read", "can-bo-huyen-7", "district_officer", SON_DONG),
            ("search", "can-bo-huyen-7", "district_officer", SON_DONG),  # the search showed this person
            ("determine", "ttyt-7", "health_facility", SON_DONG),
            ("merge_kept", "can-bo-xa-7", "commune_officer", TAY_YEN_TU),
            ("move", "can-bo-huyen-7", "district_officer", SON_DONG),
            ("record_death", "can-bo-huyen-7", "district_officer", SON_DONG),
            ("read_refused", "hang-xom", "commune_officer", TAY_YEN_TU),
        ]
    )
    [refused] = [e for e in trail if e["action"] == "read_refused"]
    assert refused["detail"]["status"] == 404 and refused["detail"]["reason"] == "not_found"
    assert refused["unit_code"] == AN_BA  # filed under the person's commune: that area's auditors see it
    now = datetime.now(UTC)
    assert all(started <= datetime.fromisoformat(e["at"]) <= now for e in trail)
    assert all(e["correlation_id"] for e in trail)  # ties each entry to the request's events and log lines
    everyone = (await ok("GET", "/api/v1/audit", auditor, params={"page_size": 200}))["items"]
    assert isinstance(everyone, list)
    searches = [e for e in everyone if e["action"] == "search" and e["sub"] == "can-bo-huyen-7"]
    assert sorted(e["person_id"] for e in searches) == sorted([pid, twin])  # one entry per person shown
    assert [e["action"] for e in everyone if e["person_id"] == twin] == ["merge_closed", "search", "register"]


async def test_no_endpoint_alters_the_trail(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    pid = (await registry.http.post("/api/v1/persons", json=person(full_name="Ma Văn Tám"), headers=officer)).json()[
        "person_id"
    ]
    auditor, admin = registry.auth("auditor", BAC_GIANG), registry.auth("admin", "VN")
    before = (await registry.http.get("/api/v1/audit", params={"person_id": pid}, headers=auditor)).json()["items"]

    # the published API offers nothing but GET on the trail
    spec = (await registry.http.get("/openapi.json")).json()
    audit_paths = {p: set(ops) for p, ops in spec["paths"].items() if "audit" in p}
    assert audit_paths == {"/api/v1/audit": {"get"}}
    # and nothing unpublished answers either, for any role that might try
    for who in (auditor, admin, officer):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            for path in ("/api/v1/audit", f"/api/v1/audit/{before[0]['id']}", f"/api/v1/audit?person_id={pid}"):
                answer = await registry.http.request(method, path, headers=who, json={"sub": "someone-else"})
                assert answer.status_code in (404, 405), (method, path, answer.status_code)

    after = (await registry.http.get("/api/v1/audit", params={"person_id": pid}, headers=auditor)).json()["items"]
    assert after == before
    # beneath the API, the database itself refuses to rewrite history, even for the service's own role
    engine = registry.app.state.runtime.engine
    for statement in ("UPDATE audit_log SET sub = 'someone-else'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
