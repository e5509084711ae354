"""Sign-in through the real Keycloak that `make test` starts (realm rehab of deploy/keycloak/rehab-realm.json).

The demo accounts sign in on Keycloak's login page and the partner systems with their client credentials; the
services accept their tokens with the role and the unit Keycloak gives them. Tokens that are expired, of another
realm, signed by a key the realm does not publish, signed with the development secret in production mode, or of
an account disabled since, are all 401; five wrong passwords lock an account.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from services.identity import Account, KeycloakAdmin, ensure_demo_accounts, new_password
from services.quotas.app import spec as quotas_spec
from shared.base.settings import ServiceSettings
from shared.runtime.service import create_app
from tests.support.keycloak import (
    Browser,
    IssuerTokens,
    LoginRefused,
    client_token,
    issuer_settings,
    jwt_expiry,
    keycloak_up,
    wait_past,
)
from tests.support.polling import wait_until
from tests.support.services import ServiceClient, fresh_schema, isolated_topics, running_service

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LEEWAY = 1  # the services under test allow 1 s of clock skew (30 s by default), so an expiry shows quickly
TRUST = issuer_settings(oidc_leeway_seconds=LEEWAY, oidc_introspection_seconds=1)


@pytest.fixture(scope="module")
def admin() -> Iterator[KeycloakAdmin]:
    assert keycloak_up(), "Keycloak's rehab realm does not answer on 127.0.0.1:8080: make platform starts it"
    with KeycloakAdmin() as keycloak:
        yield keycloak


@pytest.fixture(scope="module")
def demo(admin: KeycloakAdmin) -> list[dict[str, str]]:
    """The demo accounts as `make up` creates them (the same file, so their passwords stay what make up printed)."""
    return ensure_demo_accounts(admin, ROOT / ".local" / "demo-accounts.json")


@pytest.fixture(scope="module")
async def quotas() -> AsyncIterator[ServiceClient]:
    """A service (development mode, as make up runs it) that trusts the realm."""
    async with (
        isolated_topics("idp") as prefix,
        fresh_schema("idp") as schema,
        running_service(quotas_spec, "quotas", schema, prefix, **TRUST) as service,
    ):
        yield service


@pytest.fixture(scope="module")
async def production() -> AsyncIterator[httpx.AsyncClient]:
    """The same service in production mode: the identity provider's tokens only (whoami needs no database)."""
    settings = ServiceSettings.for_service(
        "quotas",
        env="production",
        metrics_token=SecretStr("m" * 32),
        kafka_username="quotas",
        kafka_password=SecretStr("q" * 24),
        kafka_security_protocol="SASL_SSL",
        **TRUST,
    )
    app = create_app(quotas_spec(), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://quotas") as http:
        yield http


@pytest.fixture
def throwaway(admin: KeycloakAdmin) -> Iterator[tuple[str, str, str]]:
    """A commune officer's account of its own (username, password, id), deleted afterwards."""
    username, password = f"test.{secrets.token_hex(4)}", new_password()
    user_id, _ = admin.ensure_user(Account(username, "commune_officer", "07615", "Thử", "Nghiệm"), password)
    yield username, password, user_id
    admin.delete_user(user_id)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def whoami(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get("/api/v1/whoami", headers=bearer(token))


async def test_each_demo_account_signs_in_and_is_accepted_with_its_role_and_unit(
    demo: list[dict[str, str]], quotas: ServiceClient
) -> None:
    assert {a["role"] for a in demo} >= {
        "commune_officer",
        "commune_police",
        "province_officer",
        "health_facility",
        "auditor",
        "ops",
    }
    assert {a["unit"] for a in demo if a["role"].startswith("commune")} == {"07615"}
    mode = (ROOT / ".local" / "demo-accounts.json").stat().st_mode & 0o777
    assert mode == 0o600, oct(mode)
    for account in demo:
        tokens = Browser().web_login(account["username"], account["password"])
        me = await whoami(quotas.http, tokens["access_token"])
        assert me.status_code == 200, (account["username"], me.text)
        assert (me.json()["role"], me.json()["unit"]) == (account["role"], account["unit"])
        assert me.json()["unit_current"] is True  # demo accounts use today's units
        plan = await quotas.http.get(
            f"/api/v1/plans/2026?unit_code={account['unit']}", headers=bearer(tokens["access_token"])
        )
        # past the token and the area check, to the data: this fresh schema holds no plan
        assert plan.status_code == 404 and "no plan for" in plan.text, (account["username"], plan.text)


@pytest.mark.parametrize(
    ("client", "role", "unit"),
    [("partner-police", "commune_police", "24"), ("partner-health", "health_facility", "24")],
)
async def test_a_partner_system_is_accepted_with_its_own_role_and_unit(
    quotas: ServiceClient, production: httpx.AsyncClient, client: str, role: str, unit: str
) -> None:
    token = client_token(client)
    for http in (quotas.http, production):
        me = await whoami(http, token)
        assert me.status_code == 200, me.text
        assert (me.json()["role"], me.json()["unit"]) == (role, unit)


def forged_claims(token: str, **changes: str) -> str:
    """`token` with its claims changed and its signature kept."""
    header, _, signature = token.split(".")
    body = jwt.decode(token, options={"verify_signature": False})
    payload = jwt.encode({**body, **changes}, "k" * 32, algorithm="HS256").split(".")[1]
    return f"{header}.{payload}.{signature}"


def foreign_token(kid: str, claims: dict[str, Any]) -> str:
    """A token shaped like the realm's, signed by a key of our own under `kid`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_tokens_the_realm_did_not_sign_or_no_longer_vouches_for_are_refused(
    admin: KeycloakAdmin, quotas: ServiceClient, production: httpx.AsyncClient
) -> None:
    good = client_token("partner-police")
    for http in (quotas.http, production):
        assert (await whoami(http, good)).status_code == 200
    claims = jwt.decode(good, options={"verify_signature": False})
    real_kid = jwt.get_unverified_header(good)["kid"]
    dev_secret = ServiceSettings().jwt_secret.get_secret_value()
    now = datetime.now(UTC)
    refused = {
        "another realm (master)": admin.access_token(),
        "the realm's key id, another key": foreign_token(real_kid, claims),
        "a key id the realm does not publish": foreign_token("not-a-key-of-the-realm", claims),
        "the realm's signature over other claims": forged_claims(good, unit="VN"),
    }
    for kind, token in refused.items():
        for http in (quotas.http, production):
            answer = await whoami(http, token)
            assert answer.status_code == 401, (kind, answer.text)
            assert answer.json()["error"]["code"] == "unauthorized"
    hs256 = jwt.encode(
        {"sub": "dev", "role": "province_officer", "unit": "24", "iat": now, "exp": now + timedelta(hours=1)},
        dev_secret,
        "HS256",
    )
    assert (await whoami(quotas.http, hs256)).status_code == 200  # development: `rehab token` still works
    answer = await whoami(production, hs256)
    assert answer.status_code == 401 and "only tokens of the identity provider" in answer.text, answer.text


async def test_an_expired_token_of_the_realm_is_refused(
    admin: KeycloakAdmin, quotas: ServiceClient, production: httpx.AsyncClient
) -> None:
    short = IssuerTokens(admin, lifespan=2)
    try:
        token = short("province_officer", "24")
        assert (await whoami(production, token)).status_code == 200
        wait_past(jwt_expiry(token) + LEEWAY)
        for http in (quotas.http, production):
            answer = await whoami(http, token)
            assert answer.status_code == 401 and "expired" in answer.text, answer.text
    finally:
        short.close()


async def test_a_disabled_accounts_token_stops_working(
    admin: KeycloakAdmin, throwaway: tuple[str, str, str], quotas: ServiceClient, production: httpx.AsyncClient
) -> None:
    username, password, user_id = throwaway
    token = Browser().web_login(username, password)["access_token"]
    for http in (quotas.http, production):
        assert (await whoami(http, token)).status_code == 200
    admin.set_enabled(user_id, False)
    for http in (quotas.http, production):
        # the services reuse the issuer's answer for oidc_introspection_seconds (1 s here, 15 s by default)
        await wait_until(lambda h=http: whoami(h, token), lambda r: r.status_code == 401, 10, 0.2, "refused")
    with pytest.raises(LoginRefused):
        Browser().web_login(username, password)


async def test_five_wrong_passwords_lock_the_account(admin: KeycloakAdmin, throwaway: tuple[str, str, str]) -> None:
    username, password, user_id = throwaway
    for attempt in range(1, 6):
        # a person's pace: attempts less than 1 s apart (quickLoginCheckMilliSeconds) lock sooner, as bots do
        await asyncio.sleep(1.1)
        with pytest.raises(LoginRefused, match="không đúng"):  # "Tên đăng nhập hoặc mật khẩu không đúng."
            Browser().web_login(username, f"wrong-{attempt}-{password}")
        if attempt == 4:
            assert admin.lockout(user_id)["disabled"] is False  # four are not enough
    # Keycloak's brute-force detector counts failures on its own thread, a moment after the login page answers

    async def lockout() -> dict[str, Any]:
        return admin.lockout(user_id)

    status = await wait_until(lockout, lambda s: s["disabled"] is True, timeout=15, what="the account locked")
    assert status["numFailures"] >= 5, status
    with pytest.raises(LoginRefused):  # the right password no longer opens it while it is locked
        Browser().web_login(username, password)
