"""The one HTTP driver of the tests: a service's API called as a partner system calls it.

Integration tests reach an app in-process (httpx's ASGI transport, `tests.support.services.running_service`);
end-to-end, fault and fuzz tests reach real processes over the network (`tests.harness.System.api`). Both go
through `Api`: a token per (role, unit) signed with the key the services use, `send` for one answer as it comes,
and `call`, which tries again while an answer only means "not yet" and returns the body of a success.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from shared.base.settings import ServiceSettings
from shared.runtime.auth import TokenCodec
from tests.support.polling import wait_until

Who = tuple[str, str]  # (role, unit code)
WAITING = frozenset({"unknown_person", "not_determined_addicted"})  # the cases service has not heard of the person


def error_of(answer: httpx.Response) -> dict[str, Any]:
    """The problem a refusal names (`{"error": {"code": ...}}`), or nothing when it is not the services' JSON."""
    if answer.headers.get("content-type") != "application/json":
        return {}
    body = answer.json()
    return dict(body.get("error") or {}) if isinstance(body, dict) else {}


def waiting(answer: httpx.Response) -> bool:
    """A refusal that only means an event is still on its way: a partner system tries again."""
    return answer.status_code in (409, 422) and error_of(answer).get("code") in WAITING


def unavailable(answer: httpx.Response) -> bool:
    """A clear "not now" (a dependency down): nothing was applied, a partner system tries again."""
    return answer.status_code == 503 and error_of(answer).get("code") == "unavailable"


def dev_tokens() -> TokenCodec:
    """Tokens signed with the development secret the services are started with in tests."""
    return TokenCodec(ServiceSettings().jwt_secret.get_secret_value())


def token(role: str, unit: str, sub: str | None = None) -> dict[str, str]:
    """An Authorization header for `role` in `unit`, signed with the key the services use."""
    return Api.bearer(dev_tokens(), role, unit, sub)


@dataclass
class Api:
    """An HTTP client on one service or several (absolute URLs), with the tests' tokens."""

    http: httpx.AsyncClient
    tokens: TokenCodec = field(default_factory=dev_tokens)

    @staticmethod
    def bearer(tokens: TokenCodec, role: str, unit: str, sub: str | None = None) -> dict[str, str]:
        token = tokens.issue(sub or f"test-{role}-{unit}", role, unit, timedelta(hours=2))
        return {"Authorization": f"Bearer {token}"}

    def auth(self, role: str, unit: str, sub: str | None = None) -> dict[str, str]:
        """The Authorization header of `role` in `unit` (`sub` names the account; one per role and unit by default)."""
        return self.bearer(self.tokens, role, unit, sub)

    async def send(
        self,
        method: str,
        url: str,
        who: Who | None = None,
        *,
        sub: str | None = None,
        patience: float = 0,
        noted: Callable[[str], None] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """`method url` as `who` (anonymous without); `kw` goes to httpx (json, data, files, params, headers).

        With `patience` (seconds), tried again, as a partner system would, on no answer, on 503 "unavailable" and
        on a refusal that only means an event is on its way; the last answer is returned, and when nothing ever
        answered the transport error is raised. `noted` is told of each try: its status code or "no answer".
        """
        headers = {**(self.auth(*who, sub=sub) if who else {}), **kw.pop("headers", {})}
        loop = asyncio.get_running_loop()
        give_up = loop.time() + patience
        while True:
            try:
                answer = await self.http.request(method, url, headers=headers, **kw)
            except httpx.TransportError:
                if noted:
                    noted("no answer")
                if loop.time() >= give_up:
                    raise
                await asyncio.sleep(0.3)  # a partner system's back-off before it tries again
                continue
            if noted:
                noted(str(answer.status_code))
            if loop.time() >= give_up or not (waiting(answer) or unavailable(answer)):
                return answer
            await asyncio.sleep(0.2)

    async def call(self, method: str, url: str, who: Who, *, patience: float = 30, **kw: Any) -> Any:
        """`send` with patience, and the body of its success (anything else fails the test, with the answer)."""
        answer = await self.send(method, url, who, patience=patience, **kw)
        assert answer.status_code < 300, (method, url, answer.status_code, answer.text[:2000])
        return answer.json()

    async def ready(self, base: str = "", timeout: float = 90, alive: Callable[[], bool] = lambda: True) -> bool:
        """Wait until `base`/health/ready answers 200; False when `alive()` turns false first (the process exited)."""

        async def state() -> str:
            if not alive():
                return "exited"
            try:
                return "ready" if (await self.http.get(base + "/health/ready")).status_code == 200 else "starting"
            except httpx.TransportError:
                return "starting"

        return await wait_until(state, lambda s: s != "starting", timeout, 0.1, f"{base or 'the service'} ready") == (
            "ready"
        )
