"""Authorization matrix: every role × endpoint × inside/outside the caller's area, from one table, with tokens
signed by the development secret (`rehab token`) and by the identity provider (Keycloak's rehab realm)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.identity import KeycloakAdmin
from tests.integration.reporting.conftest import DATA, System
from tests.support.keycloak import IssuerTokens

pytestmark = pytest.mark.integration

INSIDE = {
    "commune_officer": "07616",
    "commune_police": "07616",
    "district_officer": "220",
    "province_officer": "24",
    "health_facility": "220",
    "auditor": "24",
    "ops": "VN",
    "admin": "VN",
}
OUTSIDE = {
    "commune_officer": "07660",
    "commune_police": "07660",
    "district_officer": "213",
    "province_officer": "30",
    "health_facility": "213",
    "auditor": "30",
}  # ops and admin are national
OFFICIALS = {"commune_officer", "commune_police", "district_officer", "province_officer"}
RECORD_READERS = OFFICIALS | {"health_facility"}
REPORT_READERS = RECORD_READERS | {"auditor", "admin"}
EVERYONE = set(INSIDE)

# endpoint: (service, method, path, body, roles allowed, status for an allowed role outside its area)
TABLE: dict[str, tuple[str, str, str, dict[str, Any] | None, set[str], int]] = {
    "read a person's file": ("registry", "GET", "/api/v1/persons/{person}", None, RECORD_READERS, 404),
    "search persons of a commune": ("registry", "GET", "/api/v1/persons?commune_code=07616", None, RECORD_READERS, 403),
    "register a person": (
        "registry",
        "POST",
        "/api/v1/persons",
        {
            "full_name": "Người Kiểm Tra",
            "date_of_birth": "1990-01-01",
            "sex": "male",
            "commune_code": "07616",
            "status": "user",
            "recorded_on": "2024-01-02",
        },
        RECORD_READERS,
        403,
    ),
    "read the audit trail": ("registry", "GET", "/api/v1/audit", None, {"auditor"}, 200),
    "read refused registrations": (
        "registry",
        "GET",
        "/api/v1/registration-attempts",
        None,
        {"province_officer", "district_officer", "auditor"},
        200,
    ),
    "read who read the cases": ("cases", "GET", "/api/v1/audit", None, {"auditor"}, 200),
    "read a case": ("cases", "GET", "/api/v1/cases/{case}", None, RECORD_READERS, 404),
    "list deadlines of a commune": ("cases", "GET", "/api/v1/deadlines?unit_code=07616", None, RECORD_READERS, 403),
    "read a commune's plan": ("quotas", "GET", "/api/v1/plans/2024?unit_code=07616", None, EVERYONE, 403),
    "write a commune's plan": (
        "quotas",
        "PUT",
        "/api/v1/plans/2024/07616",
        {"quotas": {"compulsory": 1, "voluntary_community": 0}, "document_number": "KH"},
        {"district_officer", "province_officer", "admin"},
        403,
    ),
    "quota progress of a commune": (
        "reporting",
        "GET",
        "/api/v1/reports/quota-progress?year=2024&unit_code=07616",
        None,
        REPORT_READERS,
        403,
    ),
    "projection status": ("reporting", "GET", "/api/v1/projections/status", None, {"ops", "admin"}, 200),
}
CASES = [
    (endpoint, role, where)
    for endpoint in TABLE
    for role in INSIDE
    for where in ("inside", "outside")
    if where == "inside" or role in OUTSIDE
]


@pytest.fixture(scope="module")
async def records(system: System) -> dict[str, str]:
    admin = system.quotas.auth("admin", "VN")
    appendix = (DATA / "son-dong-2024-appendix.tsv").read_bytes()
    await system.quotas.http.post(
        "/api/v1/plans/imports",
        files={"file": ("a.tsv", appendix)},
        data={"year": "2024", "unit_code": "220"},
        headers=admin,
    )
    person = await system.person("07616", "1990-01-01")
    await system.known_to_cases(person, "addict")
    return {"person": person, "case": await system.enrol(person, "compulsory", "2024-02-01", 12)}


def expected(endpoint: str, role: str, where: str) -> int:
    _, method, _, _, allowed, outside = TABLE[endpoint]
    if role not in allowed:
        return 403
    if where == "outside":
        return outside
    return 201 if method == "POST" else 200


@pytest.fixture(scope="module")
def issuer_tokens() -> Iterator[IssuerTokens]:
    """Keycloak's tokens for each (role, unit) of the table, through a partner client per pair."""
    with KeycloakAdmin() as admin:
        tokens = IssuerTokens(admin)
        yield tokens
        tokens.close()


@pytest.mark.parametrize("signer", ["development secret", "identity provider"])
@pytest.mark.parametrize(("endpoint", "role", "where"), CASES)
async def test_authorization(
    system: System,
    records: dict[str, str],
    issuer_tokens: IssuerTokens,
    endpoint: str,
    role: str,
    where: str,
    signer: str,
) -> None:
    service_name, method, path, body, _, _ = TABLE[endpoint]
    service = getattr(system, service_name)
    unit = INSIDE[role] if where == "inside" else OUTSIDE[role]
    if signer == "identity provider":
        headers = {"Authorization": f"Bearer {issuer_tokens(role, unit)}"}
        assert (await service.http.get("/api/v1/whoami", headers=headers)).json()["role"] == role
    else:
        headers = service.auth(role, unit)
    answer = await service.http.request(method, path.format(**records), json=body, headers=headers)
    wanted = expected(endpoint, role, where)
    if wanted == 201 and answer.status_code == 409:  # the same person registered by an earlier role: allowed
        return
    assert answer.status_code == wanted, (endpoint, role, unit, answer.text[:300])
