"""The rehab realm as code (deploy/keycloak/rehab-realm.json) says what the services expect of their tokens."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from services.identity import DEMO_ACCOUNTS, new_password
from shared.runtime.auth import Principal, Role
from shared.vn.units import admin_units

REALM: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / "rehab-realm.json").read_text(encoding="utf-8")
)


def client(client_id: str) -> dict[str, Any]:
    [found] = [c for c in REALM["clients"] if c["clientId"] == client_id]
    return found


def mappers() -> dict[str, dict[str, Any]]:
    [scope] = [s for s in REALM["clientScopes"] if s["name"] == "rehab"]
    return {m["name"]: m for m in scope["protocolMappers"]}


def test_the_realms_roles_are_the_eight_roles_and_land_in_the_role_and_unit_claims() -> None:
    assert {r["name"] for r in REALM["roles"]["client"]["rehab"]} == {r.value for r in Role}
    role, unit, audience = mappers()["role"]["config"], mappers()["unit"]["config"], mappers()["audience rehab"]
    assert role["claim.name"] == "role" and role["multivalued"] == "false" and role["access.token.claim"] == "true"
    assert role["usermodel.clientRoleMapping.clientId"] == "rehab"
    assert unit["user.attribute"] == "unit" and unit["claim.name"] == "unit"
    assert audience["config"]["included.client.audience"] == "rehab"
    profile = json.loads(
        REALM["components"]["org.keycloak.userprofile.UserProfileProvider"][0]["config"]["kc.user.profile.config"][0]
    )
    [attribute] = [a for a in profile["attributes"] if a["name"] == "unit"]
    assert attribute["permissions"]["edit"] == ["admin"]  # a user cannot move themselves to another unit
    assert "kế thừa" in attribute["annotations"]["inputHelperTextAfter"]  # how to move an account to a successor
    pattern = attribute["validations"]["pattern"]["pattern"]
    assert pattern == Principal.model_fields["unit"].metadata[-1].pattern  # the same rule as the services'


def test_each_client_has_its_grant_and_nothing_more() -> None:
    web, cli = client("rehab-web"), client("rehab-cli")
    assert web["standardFlowEnabled"] and web["attributes"]["pkce.code.challenge.method"] == "S256"
    assert not web["publicClient"] and not web["directAccessGrantsEnabled"] and not web["implicitFlowEnabled"]
    assert cli["publicClient"] and cli["attributes"]["oauth2.device.authorization.grant.enabled"] == "true"
    assert not cli["standardFlowEnabled"] and not cli["directAccessGrantsEnabled"]
    partners = {u["serviceAccountClientId"]: u for u in REALM["users"] if "clientRoles" in u}
    assert set(partners) == {"partner-police", "partner-health"}
    for name, account in partners.items():
        assert client(name)["serviceAccountsEnabled"] and not client(name)["standardFlowEnabled"]
        [role] = account["clientRoles"]["rehab"]
        Principal(sub=name, role=role, unit=account["attributes"]["unit"][0])
    for c in REALM["clients"]:  # secrets come from the environment (local defaults only)
        assert "secret" not in c or re.fullmatch(r"\$\{[A-Z_]+:[a-z-]+-local\}", c["secret"]), c["clientId"]


def test_passwords_lockout_and_token_lifetimes() -> None:
    policy = REALM["passwordPolicy"]
    for rule in ("length(12)", "upperCase(1)", "lowerCase(1)", "digits(1)", "specialChars(1)", "notUsername"):
        assert rule in policy
    assert REALM["bruteForceProtected"] and REALM["failureFactor"] == 5 and not REALM["permanentLockout"]
    assert REALM["accessTokenLifespan"] <= 300 and REALM["revokeRefreshToken"]
    assert not REALM["registrationAllowed"] and REALM["defaultLocale"] == "vi"


def test_demo_accounts_use_todays_units_and_generated_passwords_meet_the_policy() -> None:
    units = admin_units()
    assert {a.role for a in DEMO_ACCOUNTS} == {r.value for r in Role} - {"admin", "district_officer"}
    for account in DEMO_ACCOUNTS:
        assert units.is_current(account.unit), account
    for _ in range(50):
        password = new_password()
        assert len(password) >= 12 and re.search(r"[A-Z]", password) and re.search(r"[a-z]", password)
        assert re.search(r"[0-9]", password) and re.search(r"[^A-Za-z0-9]", password)
