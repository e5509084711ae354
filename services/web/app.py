"""Composition of the web app: settings, sessions, the sign-in client, the services' APIs, pages and their errors."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest

from services.web import auth, pages
from services.web.backend import ApiError, Backend, SessionExpired
from services.web.context import (
    HERE,
    LANG_COOKIE,
    Ctx,
    NeedsSignIn,
    Refused,
    Web,
    here,
    language,
    login_url,
    safe_next,
)
from services.web.oidc import Oidc
from services.web.sessions import Session, SessionStore
from services.web.settings import WebSettings
from shared.base.logs import set_correlation
from shared.runtime.service import accepted_correlation_id
from shared.vn.units import admin_units

log = logging.getLogger("rehab.web")
PAGE_SECONDS = Histogram(
    "rehab_web_page_seconds",
    "Time to answer a page, by route and status",
    ["route", "status"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SERVICES = ("registry", "cases", "quotas", "reporting")


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The web app over its settings; nothing connects until it starts."""
    settings = settings or WebSettings()
    settings.check_production()
    http = httpx.AsyncClient(timeout=settings.api_timeout_seconds)
    oidc = Oidc(settings, http)
    backend = Backend({s: settings.service_url(s) for s in SERVICES}, oidc, settings.api_timeout_seconds)
    templates = Jinja2Templates(directory=HERE / "templates")
    sessions = SessionStore(
        settings.session_idle_minutes * 60, settings.session_max_hours * 3600, settings.max_sessions
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await backend.close()
        await http.aclose()

    app = FastAPI(title="Rehab: the officials' web app", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.web = Web(settings, sessions, oidc, backend, admin_units(), templates)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(auth.router)
    for router in pages.ROUTERS:
        app.include_router(router)
    _install_errors(app)
    _install_middleware(app, settings)
    _install_ops(app, settings, backend)
    return app


def _install_middleware(app: FastAPI, settings: WebSettings) -> None:
    issuer = urlsplit(settings.oidc_issuer)
    idp = f"{issuer.scheme}://{issuer.netloc}"
    policy = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
        f"base-uri 'none'; frame-ancestors 'none'; form-action 'self' {idp}"
    )

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        set_correlation(accepted_correlation_id(request.headers.get("x-correlation-id")))
        started = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        PAGE_SECONDS.labels(getattr(route, "path", "other"), str(response.status_code)).observe(
            time.perf_counter() - started
        )
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"  # pages carry personal data: never cached
        return response


def _install_ops(app: FastAPI, settings: WebSettings, backend: Backend) -> None:
    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        try:
            await app.state.web.oidc.metadata()
            idp = True
        except httpx.HTTPError:
            idp = False
        return JSONResponse({"status": "ready" if idp else "not_ready", "identity_provider": idp}, 200 if idp else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        token = settings.metrics_token
        if settings.production and token is not None:
            sent = request.headers.get("authorization", "").removeprefix("Bearer ")
            if not secrets.compare_digest(sent.encode(), token.get_secret_value().encode()):
                return PlainTextResponse("metrics need the metrics token", 401)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/lang/{lang}", include_in_schema=False)
    async def switch(lang: str, request: Request, next: str = "/") -> RedirectResponse:
        response = RedirectResponse(safe_next(next), 303)
        if lang in ("vi", "en"):
            response.set_cookie(
                LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax", secure=settings.production
            )
        return response


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(NeedsSignIn)
    async def needs_sign_in(request: Request, exc: NeedsSignIn) -> Response:
        if request.headers.get("accept", "").startswith("application/json"):
            return JSONResponse({"error": "signed_out"}, 401)
        target = login_url(exc.next_url) + ("&expired=1" if exc.expired else "")
        return RedirectResponse(target, 303)

    @app.exception_handler(SessionExpired)
    async def expired(request: Request, _: SessionExpired) -> Response:
        return await needs_sign_in(request, NeedsSignIn(here(request), expired=True))

    @app.exception_handler(Refused)
    async def refused(request: Request, _: Refused) -> Response:
        return await _error_page(request, 403, "forbidden.title", "forbidden.body")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if exc.status in (403, 404):  # outside the area answers as a refusal: existence is not leaked
            return await _error_page(request, 403, "forbidden.title", "forbidden.body")
        if exc.status >= 500:
            return await _error_page(request, 503, "error.title", "unavailable")
        return await _error_page(request, exc.status, "error.title", None, exc.message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return await _error_page(request, 500, "error.title", "unavailable")

    @app.exception_handler(404)
    async def not_found(request: Request, _: Exception) -> Response:
        return await _error_page(request, 404, "notfound.title", None)


async def _error_page(request: Request, status: int, title: str, body: str | None, detail: str = "") -> HTMLResponse:
    web: Web = request.app.state.web
    session = web.sessions.get(request.cookies.get(web.settings.session_cookie)) or Session()  # anonymous: not kept
    ctx = Ctx(request, web, session, language(request))
    return await ctx.render("error.html", status, title=title, body=body, detail=detail)
