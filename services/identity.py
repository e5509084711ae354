"""The identity provider's administration (Keycloak's admin REST API): the demo accounts, and what tests set up.

`python -m services.platform accounts` (run by `make up`) makes sure the demo accounts of `DEMO_ACCOUNTS` exist
in the rehab realm with their role and unit, and writes them to `.local/demo-accounts.json` (ARCHITECTURE.md:
`[{"username", "password", "role", "unit"}]`, mode 0600). A password once written is kept: a second `make up`
prints the same ones, and a realm imported again (deploy/local/keycloak.sh) gets the same accounts back.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REALM = "rehab"
ROLES_CLIENT = "rehab"  # the client whose client roles are the eight roles (the `role` claim)


def local_client_secret(client_id: str) -> str:
    """The realm file's local default secret of a client (`${VAR:<client>-local}`), as Kafka's `<user>-local`."""
    return f"{client_id}-local"


class KeycloakSettings(BaseSettings):
    """Where the identity provider is and who administers it (deploy/local/env.sh sets the local defaults)."""

    model_config = SettingsConfigDict(env_prefix="REHAB_KEYCLOAK_", extra="ignore")

    url: str = "http://127.0.0.1:8080"
    admin: str = "admin"
    admin_password: SecretStr = SecretStr("admin-local")
    realm: str = REALM

    @property
    def issuer(self) -> str:
        return f"{self.url.rstrip('/')}/realms/{self.realm}"


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    unit: str
    first_name: str
    last_name: str


# Today's units (2025 catalogue): Xã Sơn Động 07615 took over most of the old Huyện Sơn Động; Tỉnh Bắc Ninh 24.
DEMO_ACCOUNTS = (
    Account("xa.sondong.canbo", "commune_officer", "07615", "Cán bộ", "UBND xã Sơn Động"),
    Account("xa.sondong.congan", "commune_police", "07615", "Cán bộ", "Công an xã Sơn Động"),
    Account("tinh.bacninh.canbo", "province_officer", "24", "Cán bộ", "Công an tỉnh Bắc Ninh"),
    Account("coso.yte.sondong", "health_facility", "07615", "Bác sĩ", "Cơ sở điều trị methadone Sơn Động"),
    Account("thanhtra.bacninh", "auditor", "24", "Thanh tra", "Tỉnh Bắc Ninh"),
    Account("vanhanh", "ops", "VN", "Vận hành", "Hệ thống"),
)


def new_password(length: int = 16) -> str:
    """A random password the realm's policy accepts (upper, lower, digit, special character, 12 or more)."""
    rng = secrets.SystemRandom()
    chars = [rng.choice(string.ascii_uppercase), rng.choice(string.ascii_lowercase), rng.choice(string.digits)]
    chars += [rng.choice("!#%+-=?@_")]
    chars += [rng.choice(string.ascii_letters + string.digits) for _ in range(length - len(chars))]
    rng.shuffle(chars)
    return "".join(chars)


class KeycloakError(RuntimeError):
    pass


class KeycloakAdmin:
    """A few calls of Keycloak's admin REST API, as the master realm's administrator."""

    def __init__(self, settings: KeycloakSettings | None = None) -> None:
        self.settings = settings or KeycloakSettings()
        self._http = httpx.Client(base_url=self.settings.url.rstrip("/"), timeout=30)
        self._token, self._until = "", 0.0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KeycloakAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, path: str, realm: str | None = None, **kwargs: Any) -> httpx.Response:
        """`path` under /admin/realms/<realm>; an answer of 400 or more raises KeycloakError."""
        url = f"/admin/realms/{realm or self.settings.realm}{path}" if not path.startswith("/admin") else path
        answer = self._http.request(method, url, headers={"Authorization": f"Bearer {self.access_token()}"}, **kwargs)
        if answer.status_code >= 400:
            raise KeycloakError(f"{method} {url}: {answer.status_code} {answer.text[:300]}")
        return answer

    def access_token(self) -> str:
        if time.monotonic() < self._until:
            return self._token
        answer = self._http.post(
            "/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": self.settings.admin,
                "password": self.settings.admin_password.get_secret_value(),
            },
        )
        if answer.status_code != 200:
            raise KeycloakError(f"cannot sign in to Keycloak as {self.settings.admin}: {answer.status_code}")
        body = answer.json()
        self._token, self._until = body["access_token"], time.monotonic() + body["expires_in"] - 10
        return self._token

    # --- users -------------------------------------------------------------------------------------------

    def user(self, username: str, realm: str | None = None) -> dict[str, Any] | None:
        found = self.call("GET", "/users", realm, params={"username": username, "exact": "true"}).json()
        return found[0] if found else None

    def ensure_user(self, account: Account, password: str | None, realm: str | None = None) -> tuple[str, bool]:
        """Create the account with `password`, or bring an existing one to its role and unit (its password
        untouched): its id, and whether it was created."""
        profile = {
            "username": account.username,
            "enabled": True,
            "firstName": account.first_name,
            "lastName": account.last_name,
            "attributes": {"unit": [account.unit]},
        }
        existing = self.user(account.username, realm)
        created = existing is None
        if existing is None:
            credentials = [{"type": "password", "value": password, "temporary": False}] if password else []
            self.call("POST", "/users", realm, json={**profile, "credentials": credentials})
            existing = self.user(account.username, realm)
            assert existing is not None
        else:
            self.call("PUT", f"/users/{existing['id']}", realm, json=profile)
        self.grant_role(existing["id"], account.role, realm)
        return str(existing["id"]), created

    def set_password(self, user_id: str, password: str, realm: str | None = None) -> None:
        body = {"type": "password", "value": password, "temporary": False}
        self.call("PUT", f"/users/{user_id}/reset-password", realm, json=body)

    def set_enabled(self, user_id: str, enabled: bool, realm: str | None = None) -> None:
        self.call("PUT", f"/users/{user_id}", realm, json={"enabled": enabled})

    def delete_user(self, user_id: str, realm: str | None = None) -> None:
        self.call("DELETE", f"/users/{user_id}", realm)

    def lockout(self, user_id: str, realm: str | None = None) -> dict[str, Any]:
        """Brute-force detection's view of the account: {"disabled": bool, "numFailures": int, ...}."""
        answer: dict[str, Any] = self.call("GET", f"/attack-detection/brute-force/users/{user_id}", realm).json()
        return answer

    # --- roles and clients -------------------------------------------------------------------------------

    def client_uuid(self, client_id: str, realm: str | None = None) -> str:
        found = self.call("GET", "/clients", realm, params={"clientId": client_id}).json()
        if not found:
            raise KeycloakError(f"no client {client_id} in realm {realm or self.settings.realm}")
        return str(found[0]["id"])

    def grant_role(self, user_id: str, role: str, realm: str | None = None) -> None:
        """Give the account exactly `role` among the eight (one role per account: the `role` claim is one)."""
        client = self.client_uuid(ROLES_CLIENT, realm)
        held = self.call("GET", f"/users/{user_id}/role-mappings/clients/{client}", realm).json()
        extra = [r for r in held if r["name"] != role]
        if extra:
            self.call("DELETE", f"/users/{user_id}/role-mappings/clients/{client}", realm, json=extra)
        if not any(r["name"] == role for r in held):
            wanted = self.call("GET", f"/clients/{client}/roles/{role}", realm).json()
            self.call("POST", f"/users/{user_id}/role-mappings/clients/{client}", realm, json=[wanted])


def write_accounts(path: Path, accounts: list[dict[str, str]]) -> None:
    """The accounts file, readable by its owner only (it holds passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(accounts, out, ensure_ascii=False, indent=2)
        out.write("\n")


def ensure_demo_accounts(admin: KeycloakAdmin, path: Path) -> list[dict[str, str]]:
    """The demo accounts in the realm, with the passwords of `path` where it has them, written back to `path`."""
    kept: dict[str, str] = {}
    if path.is_file():
        kept = {a["username"]: a["password"] for a in json.loads(path.read_text(encoding="utf-8"))}
    accounts = []
    for account in DEMO_ACCOUNTS:
        password = kept.get(account.username) or new_password()
        user_id, created = admin.ensure_user(account, password)
        if not created and account.username not in kept:
            admin.set_password(user_id, password)  # an account that existed with a password nobody wrote down
        accounts.append(
            {"username": account.username, "password": password, "role": account.role, "unit": account.unit}
        )
    write_accounts(path, accounts)
    return accounts
