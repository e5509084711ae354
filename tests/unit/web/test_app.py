"""The web app's own rules, without the services: who must sign in, where they return, CSRF, headers, language.

The identity provider's discovery document is given to the app (no network); the real sign-in through Keycloak's
login page is the browser test's (tests/e2e/test_web.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import pytest
from fastapi.testclient import TestClient

from services.web.app import create_app
from services.web.sessions import LOGIN_COOKIE, Session
from services.web.settings import WebSettings

IDP = "http://idp.invalid/realms/rehab"
METADATA = {
    "authorization_endpoint": f"{IDP}/protocol/openid-connect/auth",
    "token_endpoint": f"{IDP}/protocol/openid-connect/token",
    "end_session_endpoint": f"{IDP}/protocol/openid-connect/logout",
}


@pytest.fixture
def client() -> Iterator[TestClient]:
    unreachable = {f"{s}_url": "http://127.0.0.1:9" for s in ("registry", "cases", "quotas", "reporting")}
    app = create_app(WebSettings(oidc_issuer=IDP, **unreachable))
    app.state.web.oidc._metadata = METADATA
    with TestClient(app, follow_redirects=False) as http:
        yield http


def signed_in(client: TestClient, expires_in: float = 300, refresh: str | None = None) -> Session:
    """A session as a sign-in leaves it, its cookie set on the client."""
    session: Session = client.app.state.web.sessions.new()  # type: ignore[attr-defined]
    claims = {"sub": "u1", "role": "commune_officer", "unit": "07615", "preferred_username": "xa.canbo"}
    token = jwt.encode(claims, "k" * 32, algorithm="HS256")
    session.tokens = {"access_token": token, "expires_at": time.time() + expires_in}
    if refresh:
        session.tokens["refresh_token"] = refresh
    session.claims = claims
    client.cookies.set("rehab_session", session.id)
    return session


def test_a_page_asks_for_sign_in_and_remembers_where_the_user_was(client: TestClient) -> None:
    answer = client.get("/viec-can-lam?kind=absconders_at_large")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/auth/login?next=%2Fviec-can-lam%3Fkind%3Dabsconders_at_large"


def test_sign_in_goes_to_the_login_page_with_pkce(client: TestClient) -> None:
    answer = client.get("/auth/login?next=/ho-so")
    assert answer.status_code == 303
    url = urlsplit(answer.headers["location"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == METADATA["authorization_endpoint"]
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["client_id"] == "rehab-web" and query["response_type"] == "code" and query["state"]
    assert query["redirect_uri"] == "http://127.0.0.1:8000/auth/callback" and query["ui_locales"] == "vi"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{LOGIN_COOKIE}=") and "HttpOnly" in cookie and "Path=/auth" in cookie
    assert "SameSite=lax" in cookie and "Secure" not in cookie  # development: http
    pending = client.app.state.web.sessions.pending[answer.cookies[LOGIN_COOKIE]]  # type: ignore[attr-defined]
    assert pending["next"] == "/ho-so" and pending["state"] == query["state"]


def test_the_realm_s_answer_makes_a_new_session_and_ends_the_one_before(client: TestClient) -> None:
    """No id known before the sign-in is ever signed in (no fixation), and a browser holds one session."""
    web = client.app.state.web  # type: ignore[attr-defined]
    before = signed_in(client)
    claims = {"sub": "u2", "role": "province_officer", "unit": "24", "preferred_username": "tinh.canbo"}

    async def finish(code: str, verifier: str) -> dict[str, object]:
        assert code == "the-code" and verifier
        return {"access_token": jwt.encode(claims, "k" * 32), "expires_at": time.time() + 300}

    web.oidc.finish = finish
    state = parse_qs(urlsplit(client.get("/auth/login?next=/bao-cao").headers["location"]).query)["state"][0]
    answer = client.get(f"/auth/callback?code=the-code&state={state}")
    assert answer.status_code == 303 and answer.headers["location"] == "/bao-cao"
    new_id = answer.cookies["rehab_session"]
    assert new_id != before.id and web.sessions.get(before.id) is None
    assert web.sessions.get(new_id).role == "province_officer" and len(web.sessions.pending) == 0
    assert client.get(f"/auth/callback?code=the-code&state={state}").status_code == 303  # used once: to /login


def test_anonymous_sign_ins_never_push_a_session_out(client: TestClient) -> None:
    web = client.app.state.web  # type: ignore[attr-defined]
    session = signed_in(client)
    for _ in range(50):
        client.get("/auth/login")
    assert web.sessions.get(session.id) is session and len(web.sessions) == 1


def test_an_expired_session_returns_the_user_to_the_page_after_signing_in_again(client: TestClient) -> None:
    signed_in(client, expires_in=-60)  # the access token expired and there is no refresh token to renew it
    answer = client.get("/ho-so?q=Nam")
    assert answer.status_code == 303
    location = unquote(answer.headers["location"])
    assert location == "/auth/login?next=/ho-so?q=Nam&expired=1"


def test_only_a_path_of_the_app_is_a_place_to_return_to(client: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        answer = client.get("/auth/login", params={"next": target})
        pending = client.app.state.web.sessions.pending[answer.cookies[LOGIN_COOKIE]]  # type: ignore[attr-defined]
        assert pending["next"] == "/", target
        assert client.get("/lang/en", params={"next": target}).headers["location"] == "/"


def test_every_form_needs_the_session_s_csrf_token(client: TestClient) -> None:
    session = signed_in(client)
    for form in ({}, {"csrf": "guessed"}, {"csrf": session.csrf + "x"}):
        answer = client.post("/ho-so/moi", data={**form, "full_name": "Nguyễn Văn A"})
        assert answer.status_code == 403, form
    answer = client.post("/auth/logout", data={"csrf": "guessed"})
    assert answer.status_code == 403 and client.app.state.web.sessions.get(session.id)  # type: ignore[attr-defined]
    answer = client.post("/auth/logout", data={"csrf": session.csrf})
    assert answer.status_code == 303 and answer.headers["location"].startswith(METADATA["end_session_endpoint"])
    assert client.app.state.web.sessions.get(session.id) is None  # type: ignore[attr-defined]


def test_pages_are_never_cached_and_never_framed_and_run_only_their_own_scripts(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY" and answer.headers["x-content-type-options"] == "nosniff"
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "http://idp.invalid" in policy
    assert "<script" not in answer.text.replace('<script src="/static/app.js" defer></script>', "")
    for asset in ("/static/app.css", "/static/app.js", "/static/favicon.svg"):
        assert client.get(asset).status_code == 200, asset  # served by the app itself: no CDN


def test_vietnamese_by_default_and_english_on_request(client: TestClient) -> None:
    home = client.get("/")
    assert 'lang="vi"' in home.text and "Đăng nhập" in home.text
    switched = client.get("/lang/en?next=/")
    assert switched.status_code == 303 and "rehab_lang=en" in switched.headers["set-cookie"]
    client.cookies.set("rehab_lang", "en")
    assert 'lang="en"' in client.get("/").text and "Sign in" in client.get("/").text


def test_an_unknown_page_answers_in_the_app_s_own_page(client: TestClient) -> None:
    answer = client.get("/khong-co")
    assert answer.status_code == 404 and "Không tìm thấy trang" in answer.text


def test_production_refuses_the_local_defaults() -> None:
    with pytest.raises(SystemExit, match="CLIENT_SECRET"):
        create_app(WebSettings(env="production", public_url="https://rehab.example.gov.vn"))
    with pytest.raises(SystemExit, match="https"):
        create_app(WebSettings(env="production", oidc_client_secret="s3cret"))


async def test_the_calls_of_one_page_share_one_refresh_of_a_single_use_refresh_token() -> None:
    """Three service calls at once with an expiring token: one refresh at the realm, all three use its token."""
    import asyncio

    from services.web.backend import Backend

    class Realm:
        refreshes = 0

        async def fresh(self, tokens: dict[str, object]) -> dict[str, object]:
            if float(tokens["expires_at"]) > time.time() + 20:  # type: ignore[arg-type]
                return tokens
            Realm.refreshes += 1
            await asyncio.sleep(0.01)  # the realm answers while the other calls wait
            claims = {"sub": "u1", "role": "commune_officer", "unit": "07615"}
            return {"access_token": jwt.encode(claims, "k" * 32), "expires_at": time.time() + 300}

    backend = Backend({}, Realm(), 5)  # type: ignore[arg-type]
    session = Session(tokens={"access_token": "old", "expires_at": time.time() + 5, "refresh_token": "r1"})
    tokens = await asyncio.gather(*(backend.token(session) for _ in range(3)))
    assert Realm.refreshes == 1 and len(set(tokens)) == 1 and tokens[0] != "old"
    await backend.close()
