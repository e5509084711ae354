"""Server-side sessions: the browser holds only a random id in an HttpOnly, SameSite cookie; tokens stay here.

A session expires after `session_idle_minutes` without a request and after `session_max_hours` in all (the realm's
own SSO limits agree). The store is in memory: one replica per user (the manifests pin sessions to a pod by the
client address), and a restart signs everyone out, which costs one sign-in, never data.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache

LOGIN_COOKIE = "rehab_login"  # a sign-in under way: its state and PKCE verifier, until the realm sends the user back
PENDING_SECONDS = 600


@dataclass
class Session:
    """One signed-in browser's session: its CSRF secret, the user's tokens and claims, what its pages keep."""

    id: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created: float = field(default_factory=time.monotonic)
    tokens: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    flash: list[str] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)  # registry writes of this user: person -> version
    cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    # one refresh at a time: the realm's refresh tokens are single-use, and a page asks several services at once
    refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def signed_in(self) -> bool:
        return bool(self.tokens.get("access_token"))

    @property
    def role(self) -> str:
        return str(self.claims.get("role", ""))

    @property
    def unit(self) -> str:
        return str(self.claims.get("unit", ""))

    @property
    def username(self) -> str:
        return str(self.claims.get("preferred_username") or self.claims.get("sub", ""))

    def remember(self, key: str, value: Any, seconds: float) -> Any:
        now = time.monotonic()
        for stale in [k for k, (until, _) in self.cache.items() if until <= now]:
            del self.cache[stale]  # an upload kept for its rejected rows leaves with its time
        self.cache[key] = (now + seconds, value)
        return value

    def recall(self, key: str) -> Any:
        hit = self.cache.get(key)
        return hit[1] if hit and hit[0] > time.monotonic() else None


class SessionStore:
    """Sessions by id, dropped after the idle time (a read slides it) or the maximum age."""

    def __init__(
        self, idle_seconds: float, max_seconds: float, max_sessions: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max, self._clock = max_seconds, clock
        self._by_id: TTLCache[str, Session] = TTLCache(maxsize=max_sessions, ttl=idle_seconds, timer=clock)
        # sign-ins under way apart from the sessions: anonymous requests can fill this, never push a session out
        self.pending: TTLCache[str, dict[str, Any]] = TTLCache(maxsize=5000, ttl=PENDING_SECONDS, timer=clock)

    def new(self) -> Session:
        session = Session(created=self._clock())
        self._by_id[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        session = self._by_id.get(session_id) if session_id else None
        if session is None:
            return None
        if self._clock() - session.created > self._max:
            self.drop(session.id)
            return None
        self._by_id[session.id] = session  # slides the idle expiry
        return session

    def drop(self, session_id: str) -> None:
        self._by_id.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._by_id)
