"""JWT bearer auth: claims sub, role, unit, exp; a caller acts only inside its own unit's subtree."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import httpx
import jwt
from cachetools import TTLCache
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.base.logs import current_correlation_id
from shared.kernel.events import Actor, CommandContext
from shared.runtime.errors import Forbidden, Unauthorized
from shared.vn.units import REFORM_DATE, AdminUnits, edition_for


class Role(StrEnum):
    COMMUNE_OFFICER = "commune_officer"
    COMMUNE_POLICE = "commune_police"
    DISTRICT_OFFICER = "district_officer"
    PROVINCE_OFFICER = "province_officer"
    HEALTH_FACILITY = "health_facility"
    AUDITOR = "auditor"
    OPS = "ops"
    ADMIN = "admin"


MAX_TOKEN_LIFETIME = timedelta(hours=12)  # a working day; a stolen token is worth at most this long
CLOCK_LEEWAY = timedelta(seconds=30)


class Principal(BaseModel):
    """The authenticated caller."""

    model_config = ConfigDict(frozen=True)

    sub: str = Field(min_length=1, max_length=200, pattern=r"\S")
    role: Role
    unit: str = Field(min_length=1, max_length=20, pattern=r"^(VN|[0-9]{2,5})$")

    def actor(self) -> Actor:
        return Actor(sub=self.sub, role=self.role.value, unit=self.unit)

    def context(self) -> CommandContext:
        """This caller as the actor of the events a command produces, under the request's correlation id."""
        cid = current_correlation_id()
        return CommandContext(actor=self.actor(), correlation_id=cid) if cid else CommandContext(actor=self.actor())


ISSUER_ALGORITHMS = ["RS256", "ES256"]


class Introspection:
    """Asks the issuer whether a token it signed is still active (RFC 7662): a disabled account, a locked one or a
    signed-out session are refused although the signature and the expiry are good.

    An answer is reused for `cache_seconds` (a token hash as the key, at most `max_tokens` kept), so a revocation
    takes effect within that time and the issuer sees one question per token per period. It runs in FastAPI's
    thread pool, as the `principal` dependency does.
    """

    def __init__(
        self, endpoint: str, client_id: str, secret: str, cache_seconds: float = 15, max_tokens: int = 20_000
    ) -> None:
        self.endpoint = endpoint
        self._http = httpx.Client(auth=(client_id, secret), timeout=5)
        self._answers: TTLCache[bytes, bool] | None = (
            TTLCache(maxsize=max_tokens, ttl=cache_seconds) if cache_seconds > 0 else None
        )
        self._lock = threading.Lock()

    def active(self, token: str) -> bool:
        key = hashlib.sha256(token.encode()).digest()
        if self._answers is not None:
            with self._lock:
                known = self._answers.get(key)
            if known is not None:
                return known
        try:
            answer = self._http.post(self.endpoint, data={"token": token, "token_type_hint": "access_token"})
        except httpx.HTTPError as exc:
            raise Unauthorized(f"cannot verify the token: the issuer is unreachable ({exc})") from None
        if answer.status_code != 200:
            raise Unauthorized(f"cannot verify the token: the issuer's introspection answered {answer.status_code}")
        active = answer.json().get("active") is True
        if self._answers is not None:
            with self._lock:
                self._answers[key] = active
        return active


class IssuerKeys:
    """Verifies tokens an OpenID Connect issuer signed (RS256 or ES256) with the keys of its JWKS.

    The keys are cached and fetched again when a token names a key id not among them (a rotated key); a token of
    another issuer, for another audience or signed by a key the JWKS does not hold is refused, and so is one the
    issuer says is no longer active (`introspection`, when given). The JWKS is read synchronously, as the
    `principal` dependency runs in FastAPI's thread pool.
    """

    def __init__(
        self,
        issuer: str,
        audience: str = "rehab",
        jwks_uri: str | None = None,
        refresh_cooldown: float = 30,
        introspection: Introspection | None = None,
        leeway: timedelta = CLOCK_LEEWAY,
    ) -> None:
        self.issuer, self.audience = issuer.rstrip("/"), audience
        self.introspection, self.leeway = introspection, leeway
        uri = jwks_uri or f"{self.issuer}/protocol/openid-connect/certs"
        # an unknown key id reads the JWKS again, at most once per `refresh_cooldown` s (forged kids cost nothing)
        self._keys = jwt.PyJWKClient(uri, cache_keys=True, lifespan=300, timeout=5, cooldown_duration=refresh_cooldown)

    def claims(self, token: str) -> dict[str, Any]:
        try:
            key = self._keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthorized(f"cannot verify the token: the issuer's keys are unreachable ({exc})") from None
        except jwt.PyJWKClientError as exc:
            raise jwt.InvalidTokenError(f"no key of the issuer signed it ({exc})") from None
        decoded: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=ISSUER_ALGORITHMS,
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.leeway,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        if self.introspection is not None and not self.introspection.active(token):
            raise jwt.InvalidTokenError("the issuer says it is no longer active (account disabled or signed out)")
        return decoded


class TokenCodec:
    """Signs and verifies tokens with one algorithm; `alg: none` and other algorithms are refused.

    A token must say when it was issued, and may live at most `max_lifetime`: an `exp` in year 9999 is refused.
    """

    def __init__(
        self,
        secret: str,
        algorithm: str = "HS256",
        max_lifetime: timedelta = MAX_TOKEN_LIFETIME,
        issuer: IssuerKeys | None = None,
        accept_secret: bool = True,
    ) -> None:
        if algorithm.lower() == "none":
            raise ValueError("unsigned tokens are not allowed")
        self.secret, self.algorithm, self.max_lifetime = secret, algorithm, max_lifetime
        self.issuer, self.accept_secret = issuer, accept_secret

    def issue(self, sub: str, role: str, unit: str, ttl: timedelta = timedelta(hours=12)) -> str:
        if ttl > self.max_lifetime:
            raise ValueError(f"a token may live at most {self.max_lifetime}")
        now = datetime.now(UTC)
        claims = {"sub": sub, "role": Role(role).value, "unit": unit, "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self.secret, algorithm=self.algorithm)

    def verify(self, token: str) -> Principal:
        """The caller a token names: signed by the issuer (RS256/ES256), or, when allowed (development), with the
        shared secret."""
        try:
            claims = self._claims(token)
            self._check_lifetime(claims)
            return Principal.model_validate({k: claims.get(k) for k in ("sub", "role", "unit")})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired: sign in again") from None
        except ValidationError as exc:
            bad = ", ".join(f"{'.'.join(map(str, e['loc']))} ({e['msg']})" for e in exc.errors())
            raise Unauthorized(f"invalid token: claim {bad}") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"invalid token: {str(exc).splitlines()[0]}") from None

    def _claims(self, token: str) -> dict[str, Any]:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if self.issuer is not None and algorithm in ISSUER_ALGORITHMS:
            return self.issuer.claims(token)
        if not self.accept_secret:
            raise jwt.InvalidTokenError(f"only tokens of the identity provider are accepted here, not {algorithm}")
        decoded: dict[str, Any] = jwt.decode(
            token,
            self.secret,
            algorithms=[self.algorithm],
            leeway=CLOCK_LEEWAY,
            options={"require": ["exp", "iat", "sub"]},
        )
        return decoded

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        issued, expires = claims["iat"], claims["exp"]
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise jwt.InvalidTokenError("iat and exp must be numeric dates")
        if timedelta(seconds=expires - issued) > self.max_lifetime + CLOCK_LEEWAY:
            hours = self.max_lifetime.total_seconds() / 3600
            raise jwt.InvalidTokenError(f"the token lives longer than the {hours:g} h allowed: sign in again")


def principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <JWT>'")
    codec: TokenCodec = request.app.state.tokens
    return codec.verify(token.strip())


CurrentPrincipal = Annotated[Principal, Depends(principal)]


def require_role(who: Principal, *roles: Role) -> None:
    if who.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(f"role {who.role.value} may not do this (allowed: {allowed})")


def in_scope(who: Principal, unit_code: str, units: AdminUnits, on: date | None = None) -> bool:
    """True when the record's unit lies in the caller's unit subtree: the one area check of every service."""
    return units.is_within(unit_code, who.unit, on)


class UnitAbolished(Forbidden):
    code = "unit_abolished"


def sees(who: Principal, units: AdminUnits, unit_code: str, recorded_on: date) -> bool:
    """The area check in time: may `who` see a record whose unit was `unit_code` on `recorded_on`?

    An account of today's units sees every record whose unit now (`AdminUnits.unit_now`: the successor of a
    merged commune, the province while a split commune's person awaits assignment) lies in its subtree; the
    commune police of a split commune's candidate successors see its people too, to assign them. An account of
    an abolished unit (a district, a merged commune) sees the history recorded inside it before 2025-07-01.
    """
    if not units.is_current(who.unit):
        return edition_for(recorded_on) == "2024" and units.is_within(unit_code, who.unit, recorded_on)
    if units.within_now(units.unit_now_or_code(unit_code, recorded_on), who.unit):
        return True
    return (
        who.role == Role.COMMUNE_POLICE
        and edition_for(recorded_on) == "2024"
        and units.split(unit_code)
        and who.unit in units.successors(unit_code)
    )


def refuse_if_abolished(who: Principal, units: AdminUnits, legal_date: date) -> None:
    """403 for an account of an abolished unit recording anything dated on or after its abolition; it names the
    units that took over (history before that date stays readable)."""
    if units.is_current(who.unit) or edition_for(legal_date) == "2024":
        return
    heirs = units.successor_units(who.unit)
    names = ", ".join(f"{u.code} {u.name}" for u in heirs)
    raise UnitAbolished(
        f"unit {who.unit} was abolished on {REFORM_DATE.isoformat()}: nothing dated {legal_date.isoformat()} may be "
        f"recorded under it; its successors are {names} "
        f"(đơn vị {who.unit} không còn từ 01/07/2025; hãy dùng tài khoản của đơn vị kế thừa: {names})",
        successors=[u.code for u in heirs],
    )


def require_scope(
    who: Principal,
    unit_code: str,
    units: AdminUnits,
    *,
    noun: str = "unit",
    refusal: Exception | None = None,
) -> None:
    """Refuse a unit outside the caller's area: 403 by default, or `refusal` (a 404, so existence does not leak)."""
    if not in_scope(who, unit_code, units):
        raise refusal or Forbidden(f"{noun} {unit_code} is outside your area ({who.unit})")
