"""Every /api/ call of every service refuses a missing, expired, unsigned, wrongly signed or malformed token."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.identity import KeycloakAdmin
from shared.base.settings import ServiceSettings
from tests.integration.reporting.conftest import System
from tests.support.keycloak import client_token
from tests.support.services import ServiceClient

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:The HMAC key")]
CLAIMS = {"sub": "intruder", "role": "province_officer", "unit": "24"}


def unsigned() -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    exp = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({**CLAIMS, 'exp': exp})}."


def tokens() -> dict[str, str | None]:
    secret = ServiceSettings().jwt_secret.get_secret_value()
    later = datetime.now(UTC) + timedelta(hours=1)
    return {
        "missing": None,
        "expired": jwt.encode({**CLAIMS, "exp": datetime.now(UTC) - timedelta(minutes=1)}, secret, "HS256"),
        "unsigned (alg none)": unsigned(),
        "wrongly signed": jwt.encode({**CLAIMS, "exp": later}, "not-the-secret-" * 3, "HS256"),
        "another algorithm": jwt.encode({**CLAIMS, "exp": later}, secret, "HS512"),
        "no expiry": jwt.encode(CLAIMS, secret, "HS256"),
        "expiry in year 9999": jwt.encode({**CLAIMS, "iat": datetime.now(UTC), "exp": datetime(9999, 12, 31)}, secret),
        "no issue time": jwt.encode({**CLAIMS, "exp": later}, secret, "HS256"),
        "empty subject": jwt.encode({**CLAIMS, "sub": "", "iat": datetime.now(UTC), "exp": later}, secret),
        "malformed": "abc.def",
    }


def calls(system: System) -> list[tuple[ServiceClient, str, str]]:
    return [
        (system.registry, "GET", "/api/v1/persons"),
        (system.cases, "GET", "/api/v1/cases"),
        (system.quotas, "GET", "/api/v1/plans/2024?unit_code=24"),
        (system.reporting, "GET", "/api/v1/reports/quota-progress?year=2024&unit_code=24"),
        (system.reporting, "POST", "/api/v1/projections/rebuild"),
    ]


@pytest.mark.parametrize("kind", list(tokens()))
async def test_bad_tokens_are_refused_by_every_service(system: System, kind: str) -> None:
    token = tokens()[kind]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    for service, method, path in calls(system):
        answer = await service.http.request(method, path, headers=headers)
        assert answer.status_code == 401, (kind, path, answer.text)
        assert answer.json()["error"]["code"] == "unauthorized"


def issuer_tokens() -> dict[str, str]:
    """Tokens shaped like the realm's that it did not sign (the services trust Keycloak's rehab realm)."""
    good = client_token("partner-police")
    claims = jwt.decode(good, options={"verify_signature": False})
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with KeycloakAdmin() as admin:
        master = admin.access_token()
    return {
        "another realm of the same Keycloak": master,
        "the realm's key id, another key": jwt.encode(
            claims, own_key, "RS256", {"kid": jwt.get_unverified_header(good)["kid"]}
        ),
        "a key id the realm does not publish": jwt.encode(claims, own_key, "RS256", {"kid": "not-the-realm-s"}),
        # signed by the realm, but for no audience of ours: the services' own introspection client has no rehab scope
        "the realm's token for another audience": client_token("rehab-services"),
    }


async def test_tokens_the_realm_did_not_sign_are_refused_by_every_service(system: System) -> None:
    for kind, token in issuer_tokens().items():
        for service, method, path in calls(system):
            answer = await service.http.request(method, path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (kind, path, answer.text)
            assert answer.json()["error"]["code"] == "unauthorized"
