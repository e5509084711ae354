"""The four services' public APIs, called with the signed-in user's token: scope, rules and audit stay there."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.web.oidc import Oidc, claims_of
from services.web.sessions import Session
from shared.base.logs import current_correlation_id
from shared.runtime.positions import AFTER_HEADER, POSITION_HEADER

log = logging.getLogger("rehab.web.backend")


class SessionExpired(Exception):
    """The user's session at the identity provider is over: sign in again, then come back."""


@dataclass
class ApiError(Exception):
    """A service refused or failed: its status, code, message (in the user's language) and fields at fault."""

    status: int
    code: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class Backend:
    """One HTTP client per service, shared by every request; each call carries the user's own token."""

    def __init__(self, urls: dict[str, str], oidc: Oidc, timeout: float) -> None:
        self.oidc = oidc
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
        self._clients = {
            name: httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) for name, url in urls.items()
        }

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self._clients.values()))

    async def token(self, session: Session) -> str:
        """The session's access token, refreshed when it is about to expire; SessionExpired when it cannot be."""
        if not session.signed_in:
            raise SessionExpired()
        async with session.refreshing:  # the calls of one page wait for one refresh, then share its tokens
            try:
                fresh = await self.oidc.fresh(session.tokens)
            except httpx.HTTPError as exc:  # the identity provider is down: the user stays signed in
                raise ApiError(503, "unavailable", f"identity provider: {type(exc).__name__}") from exc
        if fresh is None:
            session.tokens = {}
            raise SessionExpired()
        if fresh is not session.tokens:
            session.tokens, session.claims = fresh, claims_of(fresh)
        return str(fresh["access_token"])

    async def call(
        self,
        session: Session,
        lang: str,
        method: str,
        service: str,
        path: str,
        *,
        after: list[str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One call; a refusal (4xx, 5xx) raises ApiError, an expired session SessionExpired."""
        headers = {"Authorization": f"Bearer {await self.token(session)}", "Accept-Language": lang}
        if (correlation := current_correlation_id()) is not None:
            headers["X-Correlation-Id"] = correlation
        if after:
            headers[AFTER_HEADER] = ",".join(after)
        try:
            answer = await self._clients[service].request(method, "/api/v1" + path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("%s %s%s failed: %s", method, service, path, exc)
            raise ApiError(503, "unavailable", f"{service}: {type(exc).__name__}") from exc
        if answer.status_code == 401:
            session.tokens = {}
            raise SessionExpired()
        if answer.status_code >= 400:
            raise _error(answer)
        if (position := answer.headers.get(POSITION_HEADER)) and ":" in position:
            person, version = position.rsplit(":", 1)
            session.positions[person] = max(session.positions.get(person, 0), int(version))
        return answer

    async def get(self, session: Session, lang: str, service: str, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None and v != ""}
        return (await self.call(session, lang, "GET", service, path, params=clean)).json()

    async def send(self, session: Session, lang: str, method: str, service: str, path: str, body: Any) -> Any:
        answer = await self.call(session, lang, method, service, path, json=body, after=_after(session, body))
        return answer.json() if answer.content else {}

    async def health(self, service: str) -> tuple[int, dict[str, Any]]:
        """A service's readiness (no token: the probe is public)."""
        try:
            answer = await self._clients[service].get("/health/ready")
            return answer.status_code, answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            return 503, {"error": type(exc).__name__}


def _after(session: Session, body: Any) -> list[str]:
    """Read your own writes: the registry versions of the person a command names that this user just wrote."""
    person = body.get("person_id") if isinstance(body, dict) else None
    version = session.positions.get(str(person)) if person else None
    return [f"{person}:{version}"] if version else []


def _error(answer: httpx.Response) -> ApiError:
    try:
        body = answer.json().get("error", {})
    except ValueError:
        body = {}
    fields = {str(k): str(v) for k, v in (body.get("fields") or {}).items()}
    return ApiError(answer.status_code, str(body.get("code", "http_error")), str(body.get("message", "")), fields)
