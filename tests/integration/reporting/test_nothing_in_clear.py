"""Nothing readable at rest in any service: a person's name, citizen id, birth date and village are found in no
table of the registry, cases, quotas or reporting schema after a life through every service; the mentor's name
stays in the cases service's own database and nowhere else.
"""

from __future__ import annotations

import pytest

from tests.integration.registry.test_import_at_rest import dump, readable
from tests.integration.reporting.conftest import System
from tests.support.polling import wait_for

pytestmark = pytest.mark.integration
NAME, CITIZEN_ID, VILLAGE, BORN = "Lường Thị Kín Đáo", "024185000777", "Bản Nà Khuất", "1985-07-19"
MENTOR = "Vi Văn Kèm Cặp"


async def test_no_person_secret_is_readable_in_any_schema_and_the_mentor_stays_in_cases(system: System) -> None:
    officer = system.registry.auth("commune_officer", "07636")
    body = {
        "full_name": NAME,
        "date_of_birth": BORN,
        "sex": "female",
        "citizen_id": CITIZEN_ID,
        "commune_code": "07636",
        "village": VILLAGE,
        "status": "user",
        "recorded_on": "2024-01-10",
    }
    answer = await system.registry.http.post("/api/v1/persons", json=body, headers=officer)
    assert answer.status_code == 201, answer.text
    person_id = answer.json()["person_id"]
    determined = await system.registry.http.post(
        f"/api/v1/persons/{person_id}/addiction-determinations",
        json={"result": "addicted", "determined_on": "2024-01-15", "facility": "TTYT Sơn Động", "form_number": "12/XN"},
        headers=system.registry.auth("health_facility", "220"),
    )
    assert determined.status_code == 201, determined.text
    await system.known_to_cases(person_id, "addict")
    case_id = await system.enrol(person_id, "voluntary_community", "2024-02-01", months=6)
    await system.step(case_id, "completion", {"completed_on": "2024-08-01", "certificate_number": "GCN-77"})
    decision = {"decision_number": "QĐ-77", "decided_on": "2024-08-03", "starts_on": "2024-08-03", "mentor": MENTOR}
    await system.step(case_id, "post-rehab", decision)
    province = system.reporting.auth("province_officer", "24")

    async def covered() -> bool:  # reporting has folded the case: its facts are part of the dump
        params = {"unit_code": "07636", "as_of": "2024-12-31"}
        got = await system.reporting.http.get("/api/v1/reports/post-rehab-coverage", params=params, headers=province)
        return got.status_code == 200 and got.json().get("covered") == 1

    await wait_for(covered, timeout=60)

    dumps = {
        name: await dump(client.app.state.runtime.engine, client.settings.schema_name)
        for name, client in vars(system).items()
    }
    assert person_id in dumps["registry"] and case_id in dumps["cases"] and case_id in dumps["reporting"]
    for name, dumped in dumps.items():
        assert readable([NAME, CITIZEN_ID, VILLAGE, BORN, "19/07/1985"], dumped) == [], name
    assert readable([MENTOR], dumps["cases"]) == [MENTOR]  # kept where the case worker needs it
    assert [n for n, dumped in dumps.items() if readable([MENTOR], dumped)] == ["cases"]
