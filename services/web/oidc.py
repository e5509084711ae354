"""Sign-in at the identity provider: authorization code with PKCE (S256), refresh, and sign-out (Authlib)."""

from __future__ import annotations

import secrets
import time
import warnings
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from services.web.settings import WebSettings

with warnings.catch_warnings():  # Authlib 1.9 announces a move of its httpx client to httpx2; it works as is
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

REFRESH_MARGIN_SECONDS = 20  # a token this close to expiry is refreshed before it is sent


class SignInFailed(Exception):
    """The identity provider refused the code or the refresh (an expired session, a disabled account)."""


class Oidc:
    """The web app as the OIDC client `rehab-web` of the realm."""

    def __init__(self, settings: WebSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self._http = http
        self._metadata: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        """The realm's discovery document, fetched once."""
        if self._metadata is None:
            realm = self.settings.oidc_internal_url or self.settings.oidc_issuer
            url = realm.rstrip("/") + "/.well-known/openid-configuration"
            answer = await self._http.get(url)
            answer.raise_for_status()
            self._metadata = answer.json()
        return self._metadata

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.settings.oidc_client_id,
            client_secret=self.settings.oidc_client_secret.get_secret_value(),
            scope="openid",
            redirect_uri=self.settings.callback_url,
            code_challenge_method="S256",
            timeout=self.settings.api_timeout_seconds,
        )

    async def start(self, lang: str) -> tuple[str, dict[str, str]]:
        """The address of the login page, and the state and PKCE verifier to keep until the callback."""
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        endpoint = (await self.metadata())["authorization_endpoint"]
        query = {
            "response_type": "code",
            "client_id": self.settings.oidc_client_id,
            "redirect_uri": self.settings.callback_url,
            "scope": "openid",
            "state": state,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "ui_locales": lang,
        }
        return f"{endpoint}?{urlencode(query)}", {"state": state, "verifier": verifier}

    async def finish(self, code: str, verifier: str) -> dict[str, Any]:
        """Exchange the code (with the verifier) for the user's tokens."""
        async with self._client() as client:
            try:
                token = await client.fetch_token(
                    (await self.metadata())["token_endpoint"], code=code, code_verifier=verifier
                )
            except Exception as exc:  # Authlib raises OAuthError, httpx its own: both mean no sign-in
                raise SignInFailed(str(exc)) from exc
        return _with_expiry(dict(token))

    async def refresh(self, tokens: dict[str, Any]) -> dict[str, Any]:
        """New tokens from the refresh token (single use at this realm); SignInFailed when the session is over."""
        refresh = tokens.get("refresh_token")
        if not refresh:
            raise SignInFailed("no refresh token")
        async with self._client() as client:
            try:
                token = await client.refresh_token((await self.metadata())["token_endpoint"], refresh_token=refresh)
            except httpx.HTTPError:
                raise  # the realm did not answer: the session is not over (the page says "try again")
            except Exception as exc:  # the realm refused (invalid_grant: the session ended, the account disabled)
                raise SignInFailed(str(exc)) from exc
        return _with_expiry(dict(token))

    async def fresh(self, tokens: dict[str, Any]) -> dict[str, Any] | None:
        """The tokens to use now: as they are, refreshed when about to expire, or None when that failed."""
        if float(tokens.get("expires_at", 0)) - REFRESH_MARGIN_SECONDS > time.time():
            return tokens
        try:
            return await self.refresh(tokens)
        except SignInFailed:
            return None

    async def end_session_url(self, tokens: dict[str, Any], then: str) -> str | None:
        """Where to send the browser so the realm ends its session too, then back to `then`."""
        endpoint = (await self.metadata()).get("end_session_endpoint")
        if not endpoint:
            return None
        query = {"post_logout_redirect_uri": then, "client_id": self.settings.oidc_client_id}
        if tokens.get("id_token"):
            query["id_token_hint"] = tokens["id_token"]
        return f"{endpoint}?{urlencode(query)}"


def claims_of(tokens: dict[str, Any]) -> dict[str, Any]:
    """The access token's claims, read without checking its signature: the services check it on every call."""
    claims: dict[str, Any] = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    return claims


def _with_expiry(token: dict[str, Any]) -> dict[str, Any]:
    if "expires_at" not in token:
        token["expires_at"] = time.time() + float(token.get("expires_in", 60))
    return token
