"""Signing in to the real Keycloak that `make test` starts, as a person would: its login page, its device page.

`Browser` fills in Keycloak's own forms over HTTP (it keeps the cookies Keycloak marks Secure, as a browser does
on 127.0.0.1), so a test gets the tokens a real sign-in gives: authorization code with PKCE for the web client,
the device grant's approval for the CLI.
"""

from __future__ import annotations

import html
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pydantic import SecretStr

from services.identity import KeycloakAdmin, KeycloakSettings, local_client_secret

WEB_CLIENT = "rehab-web"
CALLBACK = "http://127.0.0.1:8000/auth/callback"


class LoginRefused(AssertionError):
    """Keycloak answered its form with a page again (wrong password, locked account): its message."""


def feedback(body: str) -> str:
    """The message Keycloak shows on a page (its alert or the field's error), else the page's text."""
    shown = re.findall(r'(?:kc-feedback-text|id="input-error[^"]*")[^>]*>([^<]+)<', body)
    return " ".join(" ".join(m.split()) for m in shown if m.strip()) or page_text(body)[:300]


def page_text(body: str) -> str:
    visible = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", visible)).split())


@dataclass
class Browser:
    """One person's browser on Keycloak: cookies kept across pages, redirects followed inside Keycloak."""

    settings: KeycloakSettings = field(default_factory=KeycloakSettings)
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._http = httpx.Client(timeout=30, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def go(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The page at `url`, following redirects while they stay on Keycloak; a redirect elsewhere is returned."""
        for _ in range(10):
            header = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            answer = self._http.request(method, url, headers={"Cookie": header} if header else {}, **kwargs)
            for cookie in answer.headers.get_list("set-cookie"):
                name, _, rest = cookie.partition("=")
                value = rest.split(";", 1)[0]
                if "Max-Age=0" in cookie or not value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            location = answer.headers.get("location")
            if answer.status_code not in (301, 302, 303) or not location:
                return answer
            url = urljoin(url, location)
            if not url.startswith(self.settings.url):
                return answer
            method, kwargs = "GET", {}
        raise AssertionError(f"too many redirects from {url}")

    def sign_in(self, page: httpx.Response, username: str, password: str) -> httpx.Response:
        """Fill in the login form of `page` and send it."""
        match = re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', page.text)
        if match is None:
            raise LoginRefused(f"no login form on the page: {feedback(page.text)}")
        action = urljoin(str(page.url), html.unescape(match.group(1)))
        return self.go("POST", action, data={"username": username, "password": password})

    def web_login(self, username: str, password: str) -> dict[str, Any]:
        """The web client's sign-in (authorization code + PKCE): the token response Keycloak gives it."""
        verifier = secrets.token_urlsafe(48)
        endpoint = f"{self.settings.issuer}/protocol/openid-connect"
        query = {
            "client_id": WEB_CLIENT,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": CALLBACK,
            "state": secrets.token_urlsafe(8),
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        login_page = self.go("GET", f"{endpoint}/auth", params=query)
        answer = self.sign_in(login_page, username, password)
        location = answer.headers.get("location", "")
        if not location.startswith(CALLBACK):
            raise LoginRefused(feedback(answer.text))
        code = parse_qs(urlsplit(location).query)["code"][0]
        tokens = httpx.post(
            f"{endpoint}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "client_id": WEB_CLIENT,
                "client_secret": local_client_secret(WEB_CLIENT),
                "code_verifier": verifier,
            },
        )
        tokens.raise_for_status()
        body: dict[str, Any] = tokens.json()
        return body

    def approve_device(self, verification_uri_complete: str, username: str, password: str) -> str:
        """Open the device page the CLI printed, sign in and grant access: the final page's text."""
        page = self.go("GET", verification_uri_complete)
        page = self.sign_in(page, username, password)
        consent = re.search(r'<form[^>]*action="([^"]+)"[^>]*>', page.text)
        if consent and 'name="accept"' in page.text:  # the grant page, when the client asks for consent
            page = self.go("POST", urljoin(str(page.url), html.unescape(consent.group(1))), data={"accept": "yes"})
        return page_text(page.text)


def client_token(client_id: str, secret: str | None = None, settings: KeycloakSettings | None = None) -> str:
    """A client's access token (client credentials grant); the realm file's local secret by default."""
    settings = settings or KeycloakSettings()
    secret = secret or local_client_secret(client_id)
    answer = httpx.post(
        f"{settings.issuer}/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def keycloak_up(settings: KeycloakSettings | None = None) -> bool:
    settings = settings or KeycloakSettings()
    try:
        return httpx.get(f"{settings.issuer}/.well-known/openid-configuration", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def wait_past(expiry: float) -> None:
    """Sleep until the clock has passed `expiry` (epoch seconds)."""
    while time.time() <= expiry:
        time.sleep(min(1.0, expiry - time.time() + 0.05))


def issuer_env(**more: str) -> dict[str, str]:
    """The environment that makes a service process trust the local realm (as `make up`'s services do)."""
    return {
        "REHAB_OIDC_ISSUER": KeycloakSettings().issuer,
        "REHAB_OIDC_CLIENT_SECRET": local_client_secret("rehab-services"),
        **more,
    }


def issuer_settings(**more: Any) -> dict[str, Any]:
    """The settings that make a service trust the local realm (as `make up`'s services do)."""
    keycloak = KeycloakSettings()
    return {
        "oidc_issuer": keycloak.issuer,
        "oidc_client_secret": SecretStr(local_client_secret("rehab-services")),
        **more,
    }


@dataclass
class IssuerTokens:
    """Tokens Keycloak signs for any (role, unit): one throw-away partner client per pair, its service account
    given the role and the unit, as an administrator would set up a partner system; removed by `close`."""

    admin: KeycloakAdmin
    prefix: str = field(default_factory=lambda: f"test-{secrets.token_hex(3)}")
    lifespan: int | None = None  # the clients' access token lifespan (s); the realm's 300 s when None
    _clients: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    _tokens: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)

    def client(self, role: str, unit: str) -> tuple[str, str]:
        """The (client id, secret) of the pair's client, created on first use."""
        if (role, unit) not in self._clients:
            client_id = f"{self.prefix}-{role}-{unit}"
            attributes = {"access.token.lifespan": str(self.lifespan)} if self.lifespan else {}
            secret = confidential_client(
                self.admin, client_id, serviceAccountsEnabled=True, standardFlowEnabled=False, attributes=attributes
            )
            uuid = self.admin.client_uuid(client_id)
            account = self.admin.call("GET", f"/clients/{uuid}/service-account-user").json()
            self.admin.call("PUT", f"/users/{account['id']}", json={**account, "attributes": {"unit": [unit]}})
            self.admin.grant_role(account["id"], role)
            self._clients[(role, unit)] = (client_id, secret)
        return self._clients[(role, unit)]

    def __call__(self, role: str, unit: str) -> str:
        """A valid access token for (role, unit), reused until shortly before it expires."""
        token, until = self._tokens.get((role, unit), ("", 0.0))
        if time.time() < until:
            return token
        token = client_token(*self.client(role, unit), self.admin.settings)
        expires = jwt_expiry(token)
        self._tokens[(role, unit)] = (token, expires - 30)
        return token

    def close(self) -> None:
        for client_id, _ in self._clients.values():
            self.admin.call("DELETE", f"/clients/{self.admin.client_uuid(client_id)}")
        self._clients.clear()


def confidential_client(admin: KeycloakAdmin, client_id: str, **settings: Any) -> str:
    """Create a confidential client of the realm with the rehab scopes (its role and unit claims); its secret."""
    secret = secrets.token_urlsafe(24)
    body = {"clientId": client_id, "secret": secret, "publicClient": False, **settings}
    admin.call("POST", "/clients", json={**body, "defaultClientScopes": ["basic", "profile", "rehab"]})
    return secret


def jwt_expiry(token: str) -> float:
    return float(jwt.decode(token, options={"verify_signature": False})["exp"])


@contextmanager
def web_client(admin: KeycloakAdmin, base_url: str) -> Iterator[tuple[str, str]]:
    """A throw-away copy of the realm's `rehab-web` client for a web app at `base_url` (a test's own port): code
    flow with PKCE S256, confidential, the same scopes; its (client id, secret); removed afterwards."""
    client_id = f"test-web-{secrets.token_hex(3)}"
    secret = confidential_client(
        admin,
        client_id,
        standardFlowEnabled=True,
        directAccessGrantsEnabled=False,
        redirectUris=[f"{base_url}/*"],
        webOrigins=[base_url],
        attributes={"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": f"{base_url}/*"},
    )
    try:
        yield client_id, secret
    finally:
        admin.call("DELETE", f"/clients/{admin.client_uuid(client_id)}")
