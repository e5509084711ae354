"""Signing in and out: the realm's own login page (authorization code + PKCE), a server-side session, sign-out.

A sign-in under way is kept apart from the sessions (its state, PKCE verifier and the page to return to, bound to
the browser by a cookie of its own); only the realm's answer makes a session, always a new one, so no id known
before the sign-in is ever signed in (no fixation), and anonymous requests can never push a session out.
"""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.web.context import Refused, current_session, form_posted, language, safe_next, web_of
from services.web.i18n import translator
from services.web.oidc import SignInFailed, claims_of
from services.web.sessions import LOGIN_COOKIE, PENDING_SECONDS, Session
from services.web.settings import WebSettings

log = logging.getLogger("rehab.web.auth")
router = APIRouter(include_in_schema=False)


def keep_cookie(response: Response, session: Session, settings: WebSettings) -> None:
    """The session's cookie: HttpOnly, SameSite=Lax (the login's redirect back must carry it), Secure outside dev."""
    response.set_cookie(
        settings.session_cookie,
        session.id,
        httponly=True,
        samesite="lax",
        secure=settings.production,
        max_age=int(settings.session_max_hours * 3600),
        path="/",
    )


@router.get("/auth/login")
async def login(request: Request, next: str = "/", expired: int = 0) -> Response:
    """To the realm's login page; the state, PKCE verifier and the page to return to wait for the callback."""
    web = web_of(request)
    url, secrets_ = await web.oidc.start(language(request))
    pending_id = secrets.token_urlsafe(24)
    flash = [translator(language(request))("session.expired")] if expired else []
    web.sessions.pending[pending_id] = {**secrets_, "next": safe_next(next), "flash": flash}
    response = RedirectResponse(url, 303)
    response.set_cookie(
        LOGIN_COOKIE,
        pending_id,
        httponly=True,
        samesite="lax",
        secure=web.settings.production,
        max_age=PENDING_SECONDS,
        path="/auth",
    )
    return response


@router.get("/auth/callback")
async def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    """Back from the login page: the code for tokens in a new session, then the page the user was on."""
    web = web_of(request)
    pending = web.sessions.pending.pop(request.cookies.get(LOGIN_COOKIE, ""), None)
    if pending is None or not state:
        return RedirectResponse("/auth/login", 303)
    if not secrets.compare_digest(state.encode(), pending["state"].encode()) or error or not code:
        log.info("sign-in refused: %s", error or "state mismatch")
        raise Refused("sign-in")
    try:
        tokens = await web.oidc.finish(code, pending["verifier"])
    except SignInFailed as exc:
        log.info("code exchange refused: %s", exc)
        raise Refused("sign-in") from exc
    old = current_session(request)
    if old is not None:
        web.sessions.drop(old.id)  # whoever was signed in in this browser before is signed out
    session = web.sessions.new()
    session.tokens, session.claims, session.flash = tokens, claims_of(tokens), list(pending["flash"])
    log.info("signed in: %s (%s, %s)", session.claims.get("sub"), session.role, session.unit)
    response = RedirectResponse(pending["next"], 303)
    keep_cookie(response, session, web.settings)
    response.delete_cookie(LOGIN_COOKIE, path="/auth")
    return response


@router.post("/auth/logout")
async def logout(request: Request) -> Response:
    """Ends the session here and at the realm, then shows the signed-out page."""
    ctx = await form_posted(request)
    web = ctx.web
    web.sessions.drop(ctx.session.id)
    then = web.settings.public_url.rstrip("/") + "/?signed_out=1"
    target = await web.oidc.end_session_url(ctx.session.tokens, then) or "/?signed_out=1"
    response = RedirectResponse(target, 303)
    response.delete_cookie(web.settings.session_cookie, path="/")
    return response
