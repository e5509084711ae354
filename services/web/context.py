"""What every page handler gets: the user's session, their language, the services' APIs and the renderer."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from services.web import charts
from services.web.backend import ApiError, Backend, SessionExpired
from services.web.i18n import LANGS, dmy, label, translator
from services.web.oidc import Oidc
from services.web.sessions import Session, SessionStore
from services.web.settings import WebSettings
from shared.kernel.clock import today
from shared.vn.units import AdminUnits, UnknownUnitError

HERE = Path(__file__).parent
LANG_COOKIE = "rehab_lang"
WORK_COUNT_SECONDS = 30
# the cases service's deadline lists on the work list (services/web/pages/work.py gives each its next step)
WORK_LISTS = (
    "awaiting_post_rehab_decision",
    "move_notices_pending",
    "move_reports_pending",
    "positive_test_during_post_rehab",
    "absconders_at_large",
    "planned_end_passed",
    "post_rehab_ending",
)
# Pages each role sees in the navigation bar (the services refuse anything else anyway)
OFFICIALS = {"commune_officer", "commune_police", "district_officer", "province_officer", "health_facility"}
NAV = (
    ("/", "nav.home", OFFICIALS | {"auditor", "admin"}),
    ("/viec-can-lam", "nav.work", OFFICIALS),
    ("/ho-so", "nav.people", OFFICIALS),
    ("/nhap-danh-sach", "nav.import", OFFICIALS - {"health_facility"}),
    ("/ke-hoach", "nav.plans", {"province_officer", "district_officer", "commune_officer", "admin"}),
    ("/bao-cao", "nav.reports", OFFICIALS | {"auditor", "admin"}),
    ("/bao-cao/gui", "nav.submissions", {"commune_officer", "commune_police", "province_officer"}),
    ("/van-hanh", "nav.ops", {"ops", "admin"}),
)


CAPABILITIES = {"registry": "/capabilities", "reporting": "/reports/cycle/capabilities"}  # what a role may do


class NeedsSignIn(Exception):
    """No signed-in session: the user signs in, then comes back to `next`."""

    def __init__(self, next_url: str, expired: bool = False) -> None:
        self.next_url, self.expired = next_url, expired


class Refused(Exception):
    """A page the user may not open (403), or a record outside their area: one page for both, nothing leaked."""


@dataclass
class Web:
    """The web app's parts, built once by the composition root (services/web/app.py)."""

    settings: WebSettings
    sessions: SessionStore
    oidc: Oidc
    backend: Backend
    units: AdminUnits
    templates: Jinja2Templates


@dataclass
class Ctx:
    """One request's view of the user: their session and language, and calls to the services as them."""

    request: Request
    web: Web
    session: Session
    lang: str

    @property
    def t(self) -> Callable[..., str]:
        return translator(self.lang)

    async def get(self, service: str, path: str, **params: Any) -> Any:
        return await self.web.backend.get(self.session, self.lang, service, path, **params)

    async def send(self, method: str, service: str, path: str, body: Any) -> Any:
        return await self.web.backend.send(self.session, self.lang, method, service, path, body)

    async def get_or_none(self, service: str, path: str, **params: Any) -> Any:
        """The answer, or None when the service refuses this user (a role without the right, 403)."""
        try:
            return await self.get(service, path, **params)
        except ApiError as exc:
            if exc.status in (403, 404):
                return None
            raise

    def unit_name(self, code: str | None, on: date | None = None) -> str:
        if not code:
            return ""
        if code == "VN":
            return "Việt Nam" if self.lang == "vi" else "Viet Nam"
        units, on = self.web.units, on or today()
        try:
            return units.get(code, units.edition_date(code, on)).name  # an abolished unit: its own edition's name
        except UnknownUnitError:
            return code

    async def may(self, service: str, action: str) -> bool:
        """Whether `service`'s own rules give the user's role `action` (the registry's policy table, the reporting
        cycle's steps), asked once per session and service for 5 minutes: the web app keeps no copy of them."""
        actions = self.session.recall(f"{service}_actions")
        if actions is None:
            answer = await self.get_or_none(service, CAPABILITIES[service]) or {}
            actions = self.session.remember(f"{service}_actions", set(answer.get("actions", [])), 300)
        return action in actions

    def flash(self, message: str) -> None:
        self.session.flash.append(message)

    async def work_count(self) -> int | None:
        """How many items are on the user's work list (for the navigation bar), reused for 30 seconds."""
        if self.session.role not in OFFICIALS:
            return None
        cached = self.session.recall("work_count")
        if cached is not None:
            return int(cached)
        try:
            counts = await self.get("cases", "/deadlines/counts")  # counts only: nobody is shown, nothing audited
        except (ApiError, SessionExpired):
            return None
        count = sum(int(counts.get(name) or 0) for name in WORK_LISTS)
        return int(self.session.remember("work_count", count, WORK_COUNT_SECONDS))

    async def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        flashes, self.session.flash = self.session.flash, []
        nav = [(href, key) for href, key, roles in NAV if self.session.role in roles]
        context = {
            "t": self.t,
            "lang": self.lang,
            "label": lambda kind, code: label(self.lang, kind, code),
            "dmy": dmy,
            "unit_name": self.unit_name,
            "session": self.session,
            "csrf": self.session.csrf,
            "nav": nav,
            "path": self.request.url.path,
            "work_count": await self.work_count(),
            "flashes": flashes,
            "charts": charts,
            "is_ratio": is_ratio,
            **values,
        }
        return self.web.templates.TemplateResponse(self.request, template, context, status_code=status)


def is_ratio(indicator: str) -> bool:
    """The indicators that are shares (shown as percentages), the others being counts."""
    return indicator.startswith("share_") or indicator.endswith("_coverage")


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def language(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "vi")
    return lang if lang in LANGS else "vi"


def current_session(request: Request) -> Session | None:
    web = web_of(request)
    return web.sessions.get(request.cookies.get(web.settings.session_cookie))


def here(request: Request) -> str:
    """The page to come back to after signing in: this one (a form's page for a POST)."""
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return request.headers.get("x-return-to") or request.url.path


async def signed_in(request: Request) -> Ctx:
    """The page's context; NeedsSignIn when there is no signed-in session."""
    session = current_session(request)
    if session is None or not session.signed_in:
        raise NeedsSignIn(here(request), expired=session is not None and bool(session.claims))
    return Ctx(request, web_of(request), session, language(request))


async def form_posted(request: Request) -> Ctx:
    """A form's context: signed in, and the form carries this session's CSRF token (else 403)."""
    ctx = await signed_in(request)
    form = await request.form()
    sent = str(form.get("csrf", ""))
    if not secrets.compare_digest(sent.encode(), ctx.session.csrf.encode()):
        raise Refused("csrf")
    return ctx


Page = Annotated[Ctx, Depends(signed_in)]
Posted = Annotated[Ctx, Depends(form_posted)]


def login_url(next_url: str) -> str:
    return "/auth/login?next=" + quote(safe_next(next_url), safe="")


def safe_next(next_url: str | None) -> str:
    """Only a path of this app: never an address elsewhere (an open redirect)."""
    if not next_url or not next_url.startswith("/") or next_url.startswith("//") or "\\" in next_url:
        return "/"
    return next_url
