"""The quotas service against the real stack: the seeds' appendix, revisions within the hierarchy, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.quotas.app import spec
from tests.support.polling import wait_for
from tests.support.services import ServiceClient, fresh_schema, isolated_topics, read_topic, running_service

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[3] / "shared" / "vn" / "data"
APPENDIX = {
    "07616": (1, 0),
    "07660": (0, 1),
    "07627": (1, 0),
    "07636": (1, 1),
    "07648": (1, 1),
    "07654": (1, 1),
    "07666": (0, 1),
}


@pytest.fixture(scope="module")
async def quotas() -> AsyncIterator[ServiceClient]:
    async with (
        isolated_topics("quo") as prefix,
        fresh_schema("quo") as schema,
        running_service(spec, "quotas", schema, prefix) as client,
    ):
        yield client


async def upload(quotas: ServiceClient, name: str, headers: dict[str, str], **form: str) -> Any:
    files = {"file": (name, (DATA / name).read_bytes(), "text/csv")}
    return await quotas.http.post("/api/v1/plans/imports", files=files, data=form, headers=headers)


async def test_importing_the_seeds_appendix_gives_exactly_the_appendix(quotas: ServiceClient) -> None:
    district = quotas.auth("district_officer", "220")
    answer = await upload(
        quotas,
        "son-dong-2024-appendix.tsv",
        district,
        year="2024",
        unit_code="220",
        document_number="KH/UBND huyện Sơn Động 01/2024",
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["created"] == 8 and answer.json()["rejected"] == []
    plan = (await quotas.http.get("/api/v1/plans/2024", params={"unit_code": "220"}, headers=district)).json()
    assert plan["plan"]["quotas"] == {"compulsory": 5, "voluntary_community": 5}
    assert {
        c["unit_code"]: (c["quotas"]["compulsory"], c["quotas"]["voluntary_community"]) for c in plan["children"]
    } == APPENDIX
    assert plan["children_totals"] == {"compulsory": 5, "voluntary_community": 5}
    assert plan["unallocated"] == {"compulsory": 0, "voluntary_community": 0}
    names = {c["unit_code"]: c["unit_name"] for c in plan["children"]}
    assert names["07616"] == "Thị trấn Tây Yên Tử" and names["07660"] == "Xã An Bá"

    again = await upload(
        quotas,
        "son-dong-2024-appendix.tsv",
        district,
        year="2024",
        unit_code="220",
        document_number="KH/UBND huyện Sơn Động 01/2024",
    )
    assert again.json()["unchanged"] == 8 and again.json()["created"] == 0
    codes = await upload(quotas, "plan-targets-from-seeds.csv", quotas.auth("admin", "VN"))
    assert (codes.json()["created"], codes.json()["unchanged"]) == (1, 7)  # Thanh Xá 2023 is new
    indicators = await upload(quotas, "plan-indicators-from-seeds.csv", quotas.auth("admin", "VN"))
    assert indicators.json()["rejected"] == []
    commune = quotas.auth("commune_officer", "07616")
    seen_from_commune = (
        await quotas.http.get("/api/v1/plans/2024", params={"unit_code": "220"}, headers=commune)
    ).json()
    targets = {t["indicator"]: (t["comparison"], t["value"]) for t in seen_from_commune["plan"]["targets"]}
    assert targets["methadone_patients_at_year_end"] == (">", 60) and targets["post_rehab_management_coverage"] == (
        "==",
        1,
    )

    async def on_kafka() -> bool:
        records = await read_topic(quotas.settings, "rehab.quotas.events")
        return any(k == b"plan-2024-220" and v["event_type"] == "plan_revised" for k, v in records)

    await wait_for(on_kafka, 30)


async def test_a_revision_below_what_the_communes_hold_is_refused_and_one_within_bounds_recorded(
    quotas: ServiceClient,
) -> None:
    province = quotas.auth("province_officer", "24")
    await upload(
        quotas,
        "son-dong-2024-appendix.tsv",
        province,
        year="2024",
        unit_code="220",
        document_number="KH/UBND huyện Sơn Động 01/2024",
    )
    cut = await quotas.http.put(
        "/api/v1/plans/2024/220",
        json={"quotas": {"compulsory": 4, "voluntary_community": 5}, "document_number": "QĐ 15/QĐ-UBND"},
        headers=province,
    )
    assert cut.status_code == 409
    message = cut.json()["error"]["message"]
    assert "Huyện Sơn Động (220)" in message and "would hold 5 compulsory places" in message and "quota is 4" in message
    assert "Thị trấn Tây Yên Tử (07616) 1" in message
    raised = await quotas.http.put(
        "/api/v1/plans/2024/220",
        json={
            "quotas": {"compulsory": 6, "voluntary_community": 5},
            "document_number": "QĐ 27/QĐ-UBND",
            "document_date": "2024-06-15",
        },
        headers=province,
    )
    assert raised.status_code == 200 and raised.json()["outcome"] == "revised"
    too_many = await quotas.http.put(
        "/api/v1/plans/2024/07616",
        json={"quotas": {"compulsory": 3, "voluntary_community": 0}, "document_number": "QĐ 28"},
        headers=province,
    )
    assert too_many.status_code == 409 and "would hold 7 compulsory places" in too_many.json()["error"]["message"]
    history = (await quotas.http.get("/api/v1/plans/2024/220/history", headers=province)).json()["versions"]
    documents = [(v["revision"], v["document_number"], v["quotas"]["compulsory"]) for v in history]
    assert documents[0] == (1, "KH/UBND huyện Sơn Động 01/2024", 5)
    assert documents[-1] == (len(documents), "QĐ 27/QĐ-UBND", 6)


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/api/v1/plans/2024/07616", {"quotas": {"compulsory": -1}, "document_number": "X"}, 422, "negative"),
        ("/api/v1/plans/2024/99999", {"quotas": {"compulsory": 1}, "document_number": "X"}, 422, "unknown unit"),
        ("/api/v1/plans/2023/07615", {"quotas": {"compulsory": 1}, "document_number": "X"}, 200, ""),
        ("/api/v1/plans/2026/07660", {"quotas": {"compulsory": 1}, "document_number": "X"}, 422, "dissolved"),
        ("/api/v1/plans/2024/07201", {"quotas": {"compulsory": 1}, "document_number": "X"}, 403, "outside your area"),
        ("/api/v1/plans/2024/07616", {"quotas": {"heroin": 1}, "document_number": "X"}, 422, "unknown modality"),
        (
            "/api/v1/plans/2024/07616",
            {"targets": [{"indicator": "happiness", "value": 1}], "document_number": "X"},
            422,
            "unknown indicator",
        ),
    ],
)
async def test_bad_input(quotas: ServiceClient, path: str, body: dict[str, Any], status: int, words: str) -> None:
    answer = await quotas.http.put(path, json=body, headers=quotas.auth("district_officer", "220"))
    assert answer.status_code in ((200, 201) if status == 200 else (status,)), answer.text
    assert words in answer.text


async def test_a_unit_that_did_not_exist_yet_is_refused_for_that_year(quotas: ServiceClient) -> None:
    answer = await quotas.http.put(
        "/api/v1/plans/2023/03980",  # Phường Mộc Châu, created on 2025-07-01
        json={"quotas": {"compulsory": 1}, "document_number": "X"},
        headers=quotas.auth("admin", "VN"),
    )
    assert answer.status_code == 422 and "only exists from 2025-07-01" in answer.json()["error"]["message"]


async def test_an_appendix_row_of_another_district_is_reported_and_commune_roles_cannot_write(
    quotas: ServiceClient,
) -> None:
    table = "STT\tXã, thị trấn\tSố người cai nghiện bắt buộc\n1\tAn Bá\t1\n2\tThọ Xương\t1\n3\tVân Sơn\tabc\n"
    answer = await quotas.http.post(
        "/api/v1/plans/imports",
        files={"file": ("phu-luc.tsv", table.encode(), "text/csv")},
        data={"year": "2025", "unit_code": "220", "document_number": "KH 2025"},
        headers=quotas.auth("district_officer", "220"),
    )
    assert answer.status_code == 200, answer.text
    rejected = {r["row"]: r["errors"] for r in answer.json()["rejected"]}
    assert "no commune named 'Thọ Xương'" in rejected[3]["name"] and "not a number" in rejected[4]["compulsory"]
    denied = await quotas.http.put(
        "/api/v1/plans/2024/07616",
        json={"quotas": {}, "document_number": "X"},
        headers=quotas.auth("commune_officer", "07616"),
    )
    assert denied.status_code == 403
