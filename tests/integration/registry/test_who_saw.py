"""Issue 14, finding 5: "who saw person X?" missed every search that showed X, and refusals left no trace.

Before: a search wrote one entry with `person_id = null` and the ids only in `detail`; a 403, 404 or 409 wrote
nothing. After: a search writes one entry per person it showed, and every refused or failed attempt on a person
writes one with its reason, even though the request itself rolled back.
"""

from __future__ import annotations

import pytest

from tests.integration.registry.conftest import AN_BA, BAC_GIANG, SON_DONG, TAY_YEN_TU, person
from tests.support.services import ServiceClient

pytestmark = pytest.mark.integration


async def test_who_saw_x_finds_searches_lists_and_refused_attempts(registry: ServiceClient) -> None:
    http = registry.http
    officer = registry.auth("commune_officer", TAY_YEN_TU, sub="can-bo-ghi")
    body = person(full_name="Lường Văn Thấy", citizen_id="024090000777")
    x = (await http.post("/api/v1/persons", json=body, headers=officer)).json()["person_id"]
    other = (await http.post("/api/v1/persons", json=person(full_name="Lường Văn Khác"), headers=officer)).json()[
        "person_id"
    ]

    district = registry.auth("district_officer", SON_DONG, sub="can-bo-tim")
    found = await http.get("/api/v1/persons", params={"q": "Lường"}, headers=district)
    assert {i["person_id"] for i in found.json()["items"]} == {x, other}
    listed = await http.get("/api/v1/persons", params={"commune_code": TAY_YEN_TU, "page_size": 200}, headers=district)
    assert x in {i["person_id"] for i in listed.json()["items"]}
    nobody = await http.get("/api/v1/persons", params={"q": "Không Ai Cả"}, headers=district)
    assert nobody.json()["items"] == []

    forbidden = registry.auth("health_facility", SON_DONG, sub="ttyt-thu")  # may not record a death
    assert (
        await http.post(f"/api/v1/persons/{x}/death", json={"died_on": "2024-06-01"}, headers=forbidden)
    ).status_code == 403
    neighbour = registry.auth("commune_officer", AN_BA, sub="can-bo-xa-ben")
    assert (await http.get(f"/api/v1/persons/{x}", headers=neighbour)).status_code == 404
    again = await http.post("/api/v1/persons", json=body, headers=officer)
    assert again.status_code == 409

    auditor = registry.auth("auditor", BAC_GIANG)
    trail = (await http.get("/api/v1/audit", params={"person_id": x}, headers=auditor)).json()["items"]
    saw = sorted((e["action"], e["sub"], e["detail"].get("reason")) for e in trail)
    assert saw == sorted(
        [
            ("register", "can-bo-ghi", None),
            ("search", "can-bo-tim", None),  # the name search
            ("search", "can-bo-tim", None),  # the commune list
            ("record_death_refused", "ttyt-thu", "forbidden"),
            ("read_refused", "can-bo-xa-ben", "not_found"),
            ("register_refused", "can-bo-ghi", "conflict"),
        ]
    )
    assert {e["detail"]["status"] for e in trail if e["action"].endswith("_refused")} == {403, 404, 409}
    assert all(e["unit_code"] == TAY_YEN_TU for e in trail)  # each under X's commune, for its auditors
    assert all(e["detail"]["query"]["q"] in (True, False) for e in trail if e["action"] == "search")  # no words

    everything = (await http.get("/api/v1/audit", params={"page_size": 200}, headers=auditor)).json()["items"]
    empty = [e for e in everything if e["action"] == "search" and e["sub"] == "can-bo-tim" and not e["person_id"]]
    assert len(empty) == 1  # a search that showed nobody is still on record, once
