"""The whole system as four real processes: a scenario through the public HTTP APIs only, then every service
restarted, and the reports unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.harness import ROOT, System
from tests.support.polling import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    async with System("e2", tmp_path_factory.mktemp("logs")) as running:
        yield running


async def scenario(s: System) -> None:
    admin, district, facility = ("admin", "VN"), ("district_officer", "220"), ("health_facility", "220")
    appendix = (ROOT / "shared" / "vn" / "data" / "son-dong-2024-appendix.tsv").read_bytes()
    await s.api.call(
        "POST",
        s["quotas"].url + "/api/v1/plans/imports",
        admin,
        files={"file": ("phu-luc.tsv", appendix)},
        data={"year": "2024", "unit_code": "220"},
    )
    lives = [
        ("07616", "compulsory", 12, True),
        ("07636", "voluntary_community", 6, True),
        ("07636", "voluntary_community", 6, False),
        ("07660", "methadone", None, True),
        ("07648", "compulsory", 12, None),
    ]
    for n, (commune, modality, months, covered) in enumerate(lives):
        person = await s.api.call(
            "POST",
            s["registry"].url + "/api/v1/persons",
            ("commune_officer", commune),
            json={
                "full_name": f"Người Thứ {'ABCDE'[n]}",
                "date_of_birth": "1990-01-01",
                "sex": "male",
                "commune_code": commune,
                "status": "user",
                "recorded_on": "2023-11-01",
            },
        )
        pid = person["person_id"]
        await s.api.call(
            "POST",
            f"{s['registry'].url}/api/v1/persons/{pid}/addiction-determinations",
            facility,
            json={"result": "addicted", "determined_on": "2023-11-05", "facility": "TTYT", "form_number": "1"},
        )
        who = facility if modality == "methadone" else district
        case = await s.api.call(
            "POST",
            s["cases"].url + "/api/v1/cases",
            who,
            json={
                "person_id": pid,
                "modality": modality,
                "decision_number": "QĐ",
                "decided_on": "2024-01-10",
                "started_on": "2024-01-15",
                "planned_months": months,
                "court_decision_number": "TA" if modality == "compulsory" else None,
            },
        )
        if covered is None:
            continue
        done = "2025-01-20" if modality == "compulsory" else "2024-07-20"
        await s.api.call(
            "POST",
            f"{s['cases'].url}/api/v1/cases/{case['case_id']}/completion",
            who,
            json={"completed_on": done, "certificate_number": "GCN"},
        )
        if covered:
            await s.api.call(
                "POST",
                f"{s['cases'].url}/api/v1/cases/{case['case_id']}/post-rehab",
                ("commune_officer", commune),
                json={"decision_number": "QĐ", "decided_on": done, "starts_on": done, "mentor": "Hội CCB"},
            )


async def reports(s: System) -> dict[str, Any]:
    who = ("district_officer", "220")
    base = s["reporting"].url + "/api/v1/reports"
    return {
        "quota": await s.api.call("GET", base + "/quota-progress", who, params={"year": 2024, "unit_code": "220"}),
        "coverage": await s.api.call(
            "GET", base + "/post-rehab-coverage", who, params={"unit_code": "220", "as_of": "2024-12-31"}
        ),
    }


async def settled(s: System) -> dict[str, Any]:
    def complete(got: dict[str, Any]) -> bool:
        achieved = {"compulsory": 2, "voluntary_community": 2}
        return bool(got["quota"]["total"]["achieved"] == achieved and got["coverage"]["completers"] == 3)

    return await wait_until(lambda: reports(s), complete, timeout=60, what="reports settled")


async def test_a_scenario_through_the_apis_survives_a_restart_of_every_service(system: System) -> None:
    await scenario(system)
    before = await settled(system)
    assert (before["coverage"]["covered"], before["coverage"]["ratio"]) == (2, 0.6667)
    assert [u["days_waiting"] for u in before["coverage"]["uncovered"]] == [164]  # since 2024-07-20
    for service in system.services.values():
        service.stop()
        await service.start()
    after = await settled(system)
    assert after == before
