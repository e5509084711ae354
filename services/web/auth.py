"""Signing in and out: the realm's own login page (authorization code + PKCE), a server-side session, sign-out."""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.web.context import Refused, current_session, form_posted, language, safe_next, web_of
from services.web.i18n import translator
from services.web.oidc import SignInFailed, claims_of
from services.web.sessions import COOKIE, Session
from services.web.settings import WebSettings

log = logging.getLogger("rehab.web.auth")
router = APIRouter(include_in_schema=False)


def keep_cookie(response: Response, session: Session, settings: WebSettings) -> None:
    """The session's cookie: HttpOnly, SameSite=Lax (the login's redirect back must carry it), Secure outside dev."""
    response.set_cookie(
        COOKIE,
        session.id,
        httponly=True,
        samesite="lax",
        secure=settings.production,
        max_age=int(settings.session_max_hours * 3600),
        path="/",
    )


@router.get("/auth/login")
async def login(request: Request, next: str = "/", expired: int = 0) -> Response:
    """To the realm's login page; the state, PKCE verifier and the page to return to wait in a new session."""
    web = web_of(request)
    old = current_session(request)
    if old is not None:
        web.sessions.drop(old.id)  # a new session id at every sign-in: no fixation
    session = web.sessions.new()
    url, secrets_ = await web.oidc.start(language(request))
    session.login = {**secrets_, "next": safe_next(next)}
    if expired:
        session.flash.append(translator(language(request))("session.expired"))
    response = RedirectResponse(url, 303)
    keep_cookie(response, session, web.settings)
    return response


@router.get("/auth/callback")
async def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    """Back from the login page: the code for tokens, then the page the user was on."""
    web = web_of(request)
    session = current_session(request)
    if session is None or not session.login or not state:
        return RedirectResponse("/auth/login", 303)
    if not secrets.compare_digest(state.encode(), session.login["state"].encode()) or error or not code:
        log.info("sign-in refused: %s", error or "state mismatch")
        web.sessions.drop(session.id)
        raise Refused("sign-in")
    try:
        tokens = await web.oidc.finish(code, session.login["verifier"])
    except SignInFailed as exc:
        log.info("code exchange refused: %s", exc)
        web.sessions.drop(session.id)
        raise Refused("sign-in") from exc
    next_url = session.login["next"]
    session.login, session.tokens, session.claims = {}, tokens, claims_of(tokens)
    log.info("signed in: %s (%s, %s)", session.claims.get("sub"), session.role, session.unit)
    return RedirectResponse(next_url, 303)


@router.post("/auth/logout")
async def logout(request: Request) -> Response:
    """Ends the session here and at the realm, then shows the signed-out page."""
    ctx = await form_posted(request)
    web = ctx.web
    web.sessions.drop(ctx.session.id)
    then = web.settings.public_url.rstrip("/") + "/?signed_out=1"
    target = await web.oidc.end_session_url(ctx.session.tokens, then) or "/?signed_out=1"
    response = RedirectResponse(target, 303)
    response.delete_cookie(COOKIE, path="/")
    return response
