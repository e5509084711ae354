"""`rehab login`, `rehab logout`, `rehab whoami`: signing in to the identity provider from a terminal.

`login` runs the OAuth 2.0 device authorization grant (RFC 8628) with the realm's `rehab-cli` client: it prints
the address and the code to open in any browser, waits while the user signs in there, and stores the tokens in
the user's configuration directory (`credentials.json`, mode 0600). Every other command uses the stored access
token when neither `--token` nor `REHAB_TOKEN` is given, refreshing it with the refresh token when it expired.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, TextIO

import httpx
import jwt
import platformdirs
from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():  # Authlib 1.9 announces a move of its httpx client to httpx2; it works as is
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client

CLIENT_ID = "rehab-cli"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
EARLY = 30  # an access token this close to its expiry is refreshed first
TOKEN_HELP = "bearer token (or set REHAB_TOKEN; default: the sign-in of rehab login)"


def default_issuer() -> str:
    url = os.environ.get("REHAB_KEYCLOAK_URL", "http://127.0.0.1:8080").rstrip("/")
    return os.environ.get("REHAB_OIDC_ISSUER", f"{url}/realms/rehab")


def credentials_path() -> Path:
    """Where the tokens are kept: $REHAB_CONFIG_DIR, else the platform's user configuration directory."""
    base = os.environ.get("REHAB_CONFIG_DIR") or platformdirs.user_config_dir("rehab")
    return Path(base) / "credentials.json"


def add_parsers(sub: Any) -> None:
    login = sub.add_parser("login", help="sign in through the identity provider (device flow)")
    login.add_argument("--issuer", default=default_issuer(), help="the realm's URL (default: REHAB_OIDC_ISSUER)")
    login.add_argument("--timeout", type=float, default=600, help="seconds to wait for the sign-in in the browser")
    sub.add_parser("logout", help="sign out: end the session at the identity provider, forget the tokens")
    whoami = sub.add_parser("whoami", help="who the stored or given token says you are, as a service sees it")
    whoami.add_argument("--token", default=os.environ.get("REHAB_TOKEN"))
    whoami.add_argument("--url", default=os.environ.get("REHAB_REPORTING_URL", "http://127.0.0.1:8004"))


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        if args.command == "login":
            return login(args.issuer, args.timeout, out, err)
        if args.command == "logout":
            return logout(out)
        return whoami(args, out, err)
    except (httpx.HTTPError, OAuthError) as exc:
        print(f"rehab: the identity provider failed: {exc}", file=err)
        return 1


def _discover(issuer: str) -> dict[str, Any]:
    answer = httpx.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=10)
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


def login(issuer: str, timeout: float, out: TextIO, err: TextIO) -> int:
    meta = _discover(issuer)
    start = httpx.post(
        meta["device_authorization_endpoint"], data={"client_id": CLIENT_ID, "scope": "openid"}, timeout=10
    )
    if start.status_code != 200:
        print(f"rehab: the identity provider refused the device sign-in: {start.text[:200]}", file=err)
        return 1
    device = start.json()
    print(
        f"Mở trang {device['verification_uri']} và nhập mã {device['user_code']}\n"
        f"(open {device['verification_uri']} and enter the code {device['user_code']}; or open\n"
        f"  {device['verification_uri_complete']} )\n"
        "Đang chờ đăng nhập... (waiting for the sign-in)",
        file=out,
        flush=True,
    )
    interval, deadline = float(device.get("interval", 5)), time.monotonic() + min(timeout, device["expires_in"])
    with OAuth2Client(client_id=CLIENT_ID, token_endpoint_auth_method="none", timeout=10) as client:
        while time.monotonic() < deadline:
            time.sleep(interval)
            try:
                token = client.fetch_token(
                    meta["token_endpoint"], grant_type=DEVICE_GRANT, device_code=device["device_code"]
                )
            except OAuthError as exc:
                if exc.error == "authorization_pending":
                    continue
                if exc.error == "slow_down":
                    interval += 5
                    continue
                print(f"rehab: sign-in not completed: {exc.error} ({exc.description or ''})", file=err)
                return 1
            _save({**dict(token), "issuer": issuer, "token_endpoint": meta["token_endpoint"]})
            claims = _claims(str(token["access_token"]))
            print(
                f"Đã đăng nhập (signed in): {claims.get('preferred_username', claims.get('sub'))}, "
                f"vai trò (role) {claims.get('role')}, đơn vị (unit) {claims.get('unit')}; "
                f"token saved in {credentials_path()}",
                file=out,
            )
            return 0
    print("rehab: the code expired before the sign-in finished: run rehab login again", file=err)
    return 1


def logout(out: TextIO) -> int:
    stored = _load()
    if stored is None:
        print("Chưa đăng nhập (not signed in)", file=out)
        return 0
    meta = _discover(stored["issuer"])
    if stored.get("refresh_token") and meta.get("end_session_endpoint"):
        # ends the session at Keycloak: its refresh token, and through introspection its access tokens, stop working
        httpx.post(
            meta["end_session_endpoint"],
            data={"client_id": CLIENT_ID, "refresh_token": stored["refresh_token"]},
            timeout=10,
        )
    credentials_path().unlink(missing_ok=True)
    print("Đã đăng xuất (signed out)", file=out)
    return 0


def whoami(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    token = args.token or current_token(err)
    if not token:
        return 2
    answer = httpx.get(f"{args.url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    if answer.status_code != 200:
        print(f"rehab: {args.url} refused the token ({answer.status_code}): {answer.text[:200]}", file=err)
        return 1
    me = answer.json()
    claims = _claims(token)
    name = claims.get("preferred_username", me["sub"])
    print(f"{name} ({me['sub']})", file=out)
    print(f"  vai trò (role): {me['role']}\n  đơn vị (unit): {me['unit']} {me['unit_name']}", file=out)
    if not me["unit_current"]:
        print(f"  đơn vị không còn từ 01/07/2025; đơn vị kế thừa: {', '.join(me['successors'])}", file=out)
    if "exp" in claims:
        left = int(claims["exp"] - time.time())
        print(f"  token hết hạn sau (expires in) {max(left, 0)} s", file=out)
    return 0


def current_token(err: TextIO = sys.stderr) -> str | None:
    """The stored access token, refreshed first when it expired; None (with a one-line reason) when there is none."""
    stored = _load()
    if stored is None:
        print("rehab: not signed in: run rehab login (or pass --token / set REHAB_TOKEN)", file=err)
        return None
    if float(stored.get("expires_at", 0)) - EARLY > time.time():
        return str(stored["access_token"])
    try:
        with OAuth2Client(client_id=CLIENT_ID, token_endpoint_auth_method="none", timeout=10) as client:
            token = client.refresh_token(stored["token_endpoint"], refresh_token=stored.get("refresh_token"))
    except (OAuthError, httpx.HTTPError) as exc:
        print(f"rehab: the sign-in has expired ({exc}): run rehab login again", file=err)
        return None
    _save({**stored, **dict(token)})
    return str(token["access_token"])


def _claims(token: str) -> dict[str, Any]:
    """A token's claims, unverified: for display only (the services verify it)."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}
    return claims


def _load() -> dict[str, Any] | None:
    path = credentials_path()
    if not path.is_file():
        return None
    try:
        stored: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stored


def _save(token: dict[str, Any]) -> None:
    """The tokens, readable by their owner only (directory 0700, file 0600)."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if "expires_at" not in token and "expires_in" in token:
        token["expires_at"] = time.time() + float(token["expires_in"])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(token, file)
