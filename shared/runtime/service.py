"""Composition root shared by the four services: one process serving HTTP and its Kafka subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.base.logs import set_correlation
from shared.base.settings import KAFKA_ADMIN, ServiceSettings, local_kafka_password
from shared.kernel.consumer import IdempotentConsumer
from shared.kernel.db import make_engine
from shared.kernel.dlq import parked_in, reapply_parked
from shared.kernel.events import Envelope, EventRegistry
from shared.kernel.eventstore import EventStore
from shared.kernel.ids import uuid7
from shared.kernel.kafka import ensure_topics, kafka_reachable, make_broker, make_producer
from shared.kernel.migrations import KERNEL_MIGRATIONS, migrate
from shared.kernel.relay import OutboxRelay
from shared.kernel.subscriber import Subscription, attach, consumer_group
from shared.runtime.auth import CurrentPrincipal, Introspection, IssuerKeys, Role, TokenCodec, require_role
from shared.runtime.errors import Unauthorized, error_body, install_error_handlers, unexpected_error
from shared.runtime.limits import BodyLimit
from shared.vn.units import NATIONAL, AdminUnits, UnknownUnitError, admin_units

log = logging.getLogger("rehab.service")
_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass
class ServiceSpec:
    """What makes one service: its topic, tables, HTTP routes, subscriptions and event types."""

    name: str
    title: str
    description: str
    topic: str | None = None
    migrations: Sequence[Path] = ()  # its Alembic revision directories, applied after the kernel's
    routers: Sequence[APIRouter] = ()
    subscriptions: Sequence[Subscription] = ()
    events: EventRegistry = field(default_factory=EventRegistry)
    startup: Sequence[Callable[[Runtime], Coroutine[Any, Any, None]]] = ()  # before consuming starts
    background: Sequence[Callable[[Runtime], Coroutine[Any, Any, None]]] = ()
    services: Mapping[str, object] = field(default_factory=dict)  # built once in the service's app.py, on app.state
    compose: Callable[[Runtime], Composition] | None = None  # services that need the live adapters (engine)


@dataclass(frozen=True)
class Composition:
    """What a service builds from its runtime: typed services for app.state, and background jobs over them."""

    services: Mapping[str, object] = field(default_factory=dict)
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()


@dataclass
class Runtime:
    """The live adapters of a running service, reachable from handlers as request.app.state.runtime."""

    settings: ServiceSettings
    engine: AsyncEngine
    broker: KafkaBroker
    store: EventStore | None
    relay: OutboxRelay | None
    units: AdminUnits
    tokens: TokenCodec
    consumers: dict[str, IdempotentConsumer] = field(default_factory=dict)  # by subscription name


def build_runtime(spec: ServiceSpec, settings: ServiceSettings) -> Runtime:
    engine = make_engine(settings.dsn(), settings.schema_name, settings.db_pool_size, f"rehab-{spec.name}")
    broker = make_broker(
        settings,
        client_id=f"rehab-{spec.name}",
        acks="all",
        enable_idempotence=True,
        logger=logging.getLogger(f"rehab.{spec.name}.broker"),
    )
    store = EventStore(spec.topic) if spec.topic else None
    relay = None
    if spec.topic:
        relay = OutboxRelay(
            engine,
            lambda: make_producer(settings, f"rehab-{spec.name}-relay"),
            spec.name,
            settings.relay_batch_size,
            settings.relay_idle_seconds,
            topic_of=settings.topic,
        )
        broker.publisher(
            settings.topic(spec.topic), title=spec.topic, schema=Envelope, description=_catalogue(spec)
        )  # documents the outbox topic in AsyncAPI
    consumers = {}
    for sub in spec.subscriptions:
        group = consumer_group(spec.name, settings.schema_name, sub.name)
        deployed = replace(sub, topics=tuple(settings.topic(t) for t in sub.topics))
        consumers[sub.name] = attach(
            broker, engine, deployed, settings.consumer_batch_size, settings.consumer_max_attempts, group
        )
    return Runtime(
        settings,
        engine,
        broker,
        store,
        relay,
        admin_units(),
        TokenCodec(
            settings.jwt_secret.get_secret_value(),
            settings.jwt_algorithm,
            timedelta(hours=settings.jwt_max_lifetime_hours),
            issuer=_issuer(settings),
            accept_secret=settings.env == "development",  # `rehab token`'s HS256 tokens: never in production
        ),
        consumers,
    )


def _issuer(settings: ServiceSettings) -> IssuerKeys | None:
    """The identity provider whose tokens the service trusts, asked about each token when a secret is given."""
    if not settings.oidc_issuer:
        return None
    issuer = settings.oidc_issuer.rstrip("/")
    introspection = (
        Introspection(
            settings.oidc_introspection_uri or f"{issuer}/protocol/openid-connect/token/introspect",
            settings.oidc_client_id,
            settings.oidc_client_secret.get_secret_value(),
            settings.oidc_introspection_seconds,
        )
        if settings.oidc_client_secret
        else None
    )
    return IssuerKeys(
        issuer,
        settings.oidc_audience,
        settings.oidc_jwks_uri,
        introspection=introspection,
        leeway=timedelta(seconds=settings.oidc_leeway_seconds),
    )


def create_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    """The service's ASGI app; connections open in its lifespan, never at import time."""
    check_production(settings)
    rt = build_runtime(spec, settings)
    composed = spec.compose(rt) if spec.compose else Composition()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        applied = await migrate(rt.engine, settings.schema_name, [*KERNEL_MIGRATIONS, *spec.migrations])
        for step in applied:
            log.info("migration applied: %s", step)
        topics = {t for s in spec.subscriptions for t in s.topics} | ({spec.topic} if spec.topic else set())
        await ensure_topics(settings, sorted(settings.topic(t) for t in topics))
        for prepare in spec.startup:
            await prepare(rt)
        await rt.broker.start()
        relay_task = asyncio.create_task(rt.relay.run()) if rt.relay else None
        workers = [asyncio.create_task(job(rt)) for job in spec.background]
        workers += [asyncio.create_task(job()) for job in composed.background]
        log.info("%s ready on %s:%d", spec.name, settings.http_host, settings.http_port)
        try:
            yield
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if rt.relay and relay_task:
                rt.relay.stop()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(relay_task, 15)
            await rt.broker.stop()
            await rt.engine.dispose()

    app = FastAPI(title=spec.title, description=spec.description, version="0.1.0", lifespan=lifespan)
    app.state.runtime = rt
    app.state.tokens = rt.tokens
    for name, built in {**spec.services, **composed.services}.items():  # read by the typed FastAPI dependencies
        setattr(app.state, name, built)
    install_error_handlers(app)
    app.add_middleware(BodyLimit)  # bodies over their limit refused before anything parses them
    app.include_router(_ops_router(spec, rt))
    for router in spec.routers:
        app.include_router(router)

    app.add_middleware(Correlation)  # outermost: every answer, a refusal by BodyLimit too, carries the id

    return app


class Correlation:
    """ASGI middleware: the request's correlation id (the caller's when well-formed, else a new one) is set for the
    events, audit entries and log lines it causes, and returned in `x-correlation-id`; a query parameter with a NUL
    is refused (no database takes one); an exception no handler claimed is answered here (`unexpected_error`).

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs every request through a
    task group and a memory stream, which costs every request of every service its share of the event loop.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cid = accepted_correlation_id(headers.get("x-correlation-id") or headers.get("x-request-id"))
        set_correlation(cid)
        if any("\x00" in value for value in QueryParams(scope.get("query_string", b"")).values()):
            refused = JSONResponse(error_body("invalid", "a query parameter contains a NUL character"), 422)
            refused.headers["x-correlation-id"] = cid
            await refused(scope, receive, send)
            return
        started = False

        async def marked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)["x-correlation-id"] = cid
            await send(message)

        try:
            await self.app(scope, receive, marked)
        except Exception as exc:  # answered here, not by Starlette's catch-all, which would reset the connection
            if started:  # the answer is on its way: nothing else can be said on this response
                raise
            await unexpected_error(exc)(scope, receive, marked)


def _ops_router(spec: ServiceSpec, rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["operations"])
    kafka_seen = {"ok": False, "at": 0.0}

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "live", "service": spec.name}

    @router.get("/health/ready")
    async def ready() -> JSONResponse:
        checks = {"database": await _db_ok(rt.engine), "kafka": await _kafka_ok()}
        ok = all(checks.values())
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503)

    async def _kafka_ok() -> bool:
        if time.monotonic() - kafka_seen["at"] > 5:  # a metadata request at most every 5 s
            kafka_seen["ok"] = await kafka_reachable(rt.settings, timeout=2)
            kafka_seen["at"] = time.monotonic()
        return bool(kafka_seen["ok"])

    @router.get("/api/v1/whoami")
    def whoami(who: CurrentPrincipal) -> dict[str, Any]:
        """The caller as this service sees its token: subject, role, unit and whether the unit still exists."""
        current = rt.units.is_current(who.unit)
        name = "Việt Nam" if who.unit == NATIONAL else None
        with contextlib.suppress(UnknownUnitError):
            name = name or rt.units.get(who.unit, edition="2025" if current else "2024").name
        return {
            "sub": who.sub,
            "role": who.role.value,
            "unit": who.unit,
            "unit_name": name,
            "unit_current": current,
            "successors": [] if current else [u.code for u in rt.units.successor_units(who.unit)],
        }

    @router.get("/api/v1/dead-letters", summary="Messages this service's consumers set aside, not applied since (ops)")
    async def dead_letters(who: CurrentPrincipal) -> dict[str, Any]:
        require_role(who, Role.OPS, Role.ADMIN)
        return {"service": spec.name, "items": await parked_in(rt.engine)}

    @router.post(
        "/api/v1/dead-letters/replay",
        summary="Apply every parked message again through the consumer that parked it, after a fix (ops)",
    )
    async def reapply(who: CurrentPrincipal) -> dict[str, Any]:
        require_role(who, Role.OPS, Role.ADMIN)
        return {"service": spec.name, **await reapply_parked(rt.settings, rt.engine, rt.consumers)}

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        _check_metrics_token(rt.settings, request)
        if rt.relay is not None and rt.relay.is_leader:
            with contextlib.suppress(Exception):
                await rt.relay.refresh_backlog()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi")
    async def asyncapi() -> JSONResponse:
        doc = AsyncAPI(rt.broker, title=f"{spec.title} events", version="0.1.0", description=spec.description)
        return JSONResponse(doc.to_specification().to_jsonable())

    return router


def accepted_correlation_id(sent: str | None) -> str:
    """The caller's correlation id if it is short and plain (letters, digits, . _ : -), else a fresh UUIDv7."""
    if sent and _CORRELATION_ID.fullmatch(sent):
        return sent
    return str(uuid7())


def check_production(settings: ServiceSettings) -> None:
    """Refuse to start in production without an identity provider, with /metrics open, or Kafka as admin or in clear."""
    if settings.env != "production":
        return
    if not settings.oidc_issuer:
        raise SystemExit("REHAB_ENV=production needs REHAB_OIDC_ISSUER: only the issuer's keys verify tokens")
    if settings.oidc_client_secret is None:
        raise SystemExit(
            "REHAB_ENV=production needs REHAB_OIDC_CLIENT_SECRET: a disabled account's tokens must stop working"
        )
    if settings.metrics_token is None:
        raise SystemExit("REHAB_ENV=production needs REHAB_METRICS_TOKEN: /metrics (per-unit counts) is not public")
    if settings.kafka_username == KAFKA_ADMIN:
        raise SystemExit(f"REHAB_ENV=production: {settings.service} must log in to Kafka as itself, not as the admin")
    if settings.kafka_password.get_secret_value() == local_kafka_password(settings.kafka_username):
        raise SystemExit(
            f"REHAB_ENV=production but the Kafka password of {settings.kafka_username} is the local default"
        )
    if settings.kafka_security_protocol != "SASL_SSL":
        raise SystemExit(
            "REHAB_ENV=production needs REHAB_KAFKA_SECURITY_PROTOCOL=SASL_SSL (credentials leave the machine)"
        )


def _check_metrics_token(settings: ServiceSettings, request: Request) -> None:
    """In production, /metrics answers only Prometheus, which sends the metrics token as a bearer token."""
    if settings.env != "production" or settings.metrics_token is None:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = settings.metrics_token.get_secret_value()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthorized("/metrics needs the metrics token in production (Authorization: Bearer <token>)")


async def _db_ok(engine: AsyncEngine) -> bool:
    try:
        async with asyncio.timeout(2), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _catalogue(spec: ServiceSpec) -> str:
    kinds = ", ".join(f"{c.event_type} v{c.schema_version}" for c in spec.events.classes())
    return f"Events of the {spec.name} service, key = stream id. Event types: {kinds or 'none yet'}."


def runtime_of(request: Request) -> Runtime:
    """The running service's adapters, from inside a request handler."""
    runtime: Runtime = request.app.state.runtime
    return runtime
