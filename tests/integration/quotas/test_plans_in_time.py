"""Plans across the 2025 reorganisation (issue 16): from 2026 a province sets its communes' quotas directly;
the 2024-2025 plans stay as issued and are read by the units of today that inherit them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.quotas.app import spec
from tests.support.services import ServiceClient, fresh_schema, isolated_topics, running_service

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[3] / "shared" / "vn" / "data"
PROVINCE = ("province_officer", "24")


@pytest.fixture(scope="module")
async def quotas() -> AsyncIterator[ServiceClient]:
    async with (
        isolated_topics("qtm") as prefix,
        fresh_schema("qtm") as schema,
        running_service(spec, "quotas", schema, prefix) as client,
    ):
        answer = await client.http.post(
            "/api/v1/plans/imports",
            files={"file": ("a.tsv", (DATA / "son-dong-2024-appendix.tsv").read_bytes(), "text/csv")},
            data={"year": "2024", "unit_code": "220", "document_number": "KH/UBND huyện Sơn Động 01/2024"},
            headers=client.auth("admin", "VN"),
        )
        assert answer.status_code == 200, answer.text
        yield client


async def put(quotas: ServiceClient, year: int, unit: str, body: dict[str, Any], who: tuple[str, str]) -> Any:
    return await quotas.http.put(
        f"/api/v1/plans/{year}/{unit}", json={"document_number": "KH 2026", **body}, headers=quotas.auth(*who)
    )


async def test_a_2026_province_plan_sets_its_communes_quotas_directly(quotas: ServiceClient) -> None:
    own = await put(quotas, 2026, "24", {"quotas": {"compulsory": 10, "voluntary_community": 10}}, PROVINCE)
    assert own.status_code == 201, own.text
    assert own.json()["unit_name"] == "Tỉnh Bắc Ninh"
    for commune, n in (("07615", 2), ("09169", 3)):  # old Bắc Giang's Sơn Động, old Bắc Ninh's Vũ Ninh
        answer = await put(quotas, 2026, commune, {"quotas": {"voluntary_community": n}}, PROVINCE)
        assert answer.status_code == 201, answer.text
    plan = (
        await quotas.http.get("/api/v1/plans/2026", params={"unit_code": "24"}, headers=quotas.auth(*PROVINCE))
    ).json()
    children = {c["unit_code"]: (c["unit_name"], c["level"], c["quotas"]) for c in plan["children"]}
    assert children == {
        "07615": ("Xã Sơn Động", "commune", {"voluntary_community": 2}),
        "09169": ("Phường Vũ Ninh", "commune", {"voluntary_community": 3}),
    }
    assert plan["unallocated"] == {"compulsory": 10, "voluntary_community": 5}
    too_many = await put(quotas, 2026, "07616", {"quotas": {"voluntary_community": 6}}, PROVINCE)
    assert too_many.status_code == 409 and "Tỉnh Bắc Ninh (24)" in too_many.json()["error"]["message"]
    district = await put(quotas, 2026, "220", {"quotas": {"compulsory": 1}}, PROVINCE)
    assert district.status_code == 422 and "dissolved" in district.text  # no district level in a 2026 plan


async def test_an_abolished_unit_writes_no_2026_plan(quotas: ServiceClient) -> None:
    answer = await put(quotas, 2026, "07616", {"quotas": {"compulsory": 1}}, ("district_officer", "220"))
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "unit_abolished"
    assert "07616" in answer.json()["error"]["successors"]


async def test_the_2024_plans_are_read_by_the_units_that_inherit_them(quotas: ServiceClient) -> None:
    son_dong = quotas.auth("commune_officer", "07615")
    district = await quotas.http.get("/api/v1/plans/2024", params={"unit_code": "220"}, headers=son_dong)
    assert district.status_code == 200, district.text
    rows = {c["unit_code"]: c for c in district.json()["children"]}
    assert district.json()["unit_name"] == "Huyện Sơn Động"  # as issued, with the names of that time
    assert (rows["07660"]["unit_name"], rows["07660"]["quotas"], rows["07660"]["unit_now"]) == (
        "Xã An Bá",
        {"compulsory": 0, "voluntary_community": 1},
        "07615",
    )
    predecessor = await quotas.http.get("/api/v1/plans/2024", params={"unit_code": "07660"}, headers=son_dong)
    assert predecessor.status_code == 200, predecessor.text
    assert predecessor.json()["plan"]["unit_name"] == "Xã An Bá"
    history = await quotas.http.get("/api/v1/plans/2024/07660/history", headers=son_dong)
    assert history.status_code == 200 and history.json()["versions"][0]["document_number"].startswith("KH/UBND")
    neighbour = await quotas.http.get("/api/v1/plans/2024", params={"unit_code": "07616"}, headers=son_dong)
    assert neighbour.status_code == 403  # Tây Yên Tử went to Xã Tây Yên Tử, not to Xã Sơn Động
    province = await quotas.http.get("/api/v1/plans/2024", params={"unit_code": "220"}, headers=quotas.auth(*PROVINCE))
    assert province.status_code == 200 and province.json()["plan"]["quotas"] == {
        "compulsory": 5,
        "voluntary_community": 5,
    }
