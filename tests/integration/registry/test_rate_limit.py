"""Issue 14, finding 1: 200 lookups by citizen id ran in 1.7 s with no throttling. Now an account has a budget.

Two registry replicas (two apps on one schema, as two pods on one database) share it: with a limit of 4 per
minute, the account's lookups alternate between them, 4 pass, and the 5th, wherever it lands, answers 429 with
Retry-After. A name search is no identity lookup and still passes; another account has its own budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from services.registry.app import spec
from tests.integration.registry.conftest import BAC_GIANG, TAY_YEN_TU, person
from tests.support.services import ServiceClient, fresh_schema, isolated_topics, running_service

pytestmark = pytest.mark.integration
PER_MINUTE = 4
LIMITED = {"service": "registry", "limit": "identity_lookups"}
FULL_WIDTH = "".join(chr(ord(d) + 0xFEE0) for d in "024090000401")  # the first id in full-width digits: one lookup


@pytest.fixture
async def replicas(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[ServiceClient, ServiceClient]]:
    monkeypatch.setenv("REHAB_REGISTRY_IDENTITY_LOOKUPS_PER_MINUTE", str(PER_MINUTE))
    monkeypatch.setenv("REHAB_REGISTRY_IDENTITY_LOOKUPS_PER_DAY", "1000")
    async with (
        isolated_topics("rl") as prefix,
        fresh_schema("rl") as schema,
        running_service(spec, "registry", schema, prefix) as one,
        running_service(spec, "registry", schema, prefix) as two,
    ):
        yield one, two


async def test_identity_lookups_are_limited_per_account_across_replicas(
    replicas: tuple[ServiceClient, ServiceClient],
) -> None:
    one, two = replicas
    officer = one.auth("commune_officer", TAY_YEN_TU, sub="can-bo-do-tim")
    before = REGISTRY.get_sample_value("rehab_rate_limited_total", LIMITED) or 0.0
    lookups = [
        one.http.post("/api/v1/persons", json=person(citizen_id="024090000401"), headers=officer),
        two.http.get("/api/v1/persons", params={"q": "024090000402"}, headers=officer),
        one.http.post(
            "/api/v1/persons", json=person(citizen_id="024090000403", full_name="Lò Văn Ba"), headers=officer
        ),
        two.http.get("/api/v1/persons", params={"q": FULL_WIDTH}, headers=officer),
    ]
    answers = [await call for call in lookups]
    assert [a.status_code for a in answers] == [201, 200, 201, 200]
    assert answers[3].json()["total"] == 1  # the full-width form finds the person registered with ASCII digits

    refused = await one.http.post("/api/v1/persons", json=person(citizen_id="024090000405"), headers=officer)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "CCCD" in refused.json()["error"]["message"]  # English, with the Vietnamese in parentheses
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 60 // PER_MINUTE
    other_replica = await two.http.get("/api/v1/persons", params={"q": "024090000406"}, headers=officer)
    assert other_replica.status_code == 429 and int(other_replica.headers["Retry-After"]) >= 1
    assert REGISTRY.get_sample_value("rehab_rate_limited_total", LIMITED) == before + 2

    by_name = await two.http.get("/api/v1/persons", params={"q": "Lò Văn Ba"}, headers=officer)
    assert by_name.status_code == 200 and by_name.json()["total"] == 1  # not an identity lookup
    someone_else = one.auth("commune_officer", TAY_YEN_TU, sub="can-bo-khac")
    assert (
        await two.http.get("/api/v1/persons", params={"q": "024090000407"}, headers=someone_else)
    ).status_code == 200

    trail = (await one.http.get("/api/v1/audit", headers=one.auth("auditor", BAC_GIANG))).json()["items"]
    limited = sorted((e["action"], e["detail"]["status"]) for e in trail if e["detail"].get("reason") == "rate_limited")
    assert limited == [("register_refused", 429), ("search_refused", 429)]
    assert all(e["sub"] == "can-bo-do-tim" for e in trail if e["detail"].get("reason") == "rate_limited")
