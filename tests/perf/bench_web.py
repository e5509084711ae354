"""`make bench`: how long each page of the web app takes at the demo's scale, beside the service calls it makes.

The four services and the web app run as processes on ports of their own, loaded with `make up`'s demo data set
(Sơn Động: 380 people and their lives, through the public APIs). An official signs in through Keycloak's login page;
each page is asked for REPEATS times. The baseline, measured in the same run, is the same service calls the page
makes (concurrently where the page makes them so), sent directly with a token of the same realm: the ratio is what
the web app adds (its own work, rendering, the names it fetches). Target (issue 18): every page p95 < 500 ms.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from services.identity import KeycloakAdmin, ensure_demo_accounts
from services.web.pages.periods import current_half
from tests.harness import ROOT, System
from tests.support.keycloak import Browser, IssuerTokens, issuer_env
from tests.support.web import running_web

REPEATS = int(os.environ.get("REHAB_BENCH_PAGE_REPEATS", "30"))
TARGET_MS = 500


def sign_in(base: str, username: str, password: str) -> httpx.Client:
    """A signed-in session of the web app, through Keycloak's own login page."""
    web = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    to_login = web.get("/auth/login")
    keycloak = Browser()
    page = keycloak.go("GET", to_login.headers["location"])
    back = keycloak.sign_in(page, username, password)
    keycloak.close()
    signed = web.get(back.headers["location"])
    assert signed.status_code == 303, signed.text[:300]
    return web


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(call: Callable[[], Awaitable[Any]], repeats: int) -> list[float]:
    await call()  # warm: connections, caches of the first request
    spent = []
    for _ in range(repeats):
        started = time.perf_counter()
        await call()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def line(name: str, page: list[float], base: list[float] | None) -> None:
    p50, p95 = statistics.median(page), percentile(page, 0.95)
    mark = "ok" if p95 < TARGET_MS else "OVER"
    if base:
        b50, b95 = statistics.median(base), percentile(base, 0.95)
        print(
            f"{name:<34} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms {mark:>4}   API p50 {b50:6.1f} p95 {b95:6.1f}"
            f"   {p50 / b50:5.2f}x"
        )
    else:
        print(f"{name:<34} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms {mark:>4}   (no service call)")


async def main() -> None:
    admin = KeycloakAdmin()
    demo = {a["username"]: a for a in ensure_demo_accounts(admin, ROOT / ".local" / "demo-accounts.json")}
    trust = issuer_env()
    logs = Path(tempfile.mkdtemp(prefix="bench-web-"))
    tokens = IssuerTokens(admin)
    async with System("bw", logs, env=trust) as system:
        urls = {f"REHAB_DEMO_{n.upper()}_URL": system[n].url for n in ("registry", "cases", "quotas")}
        loaded = subprocess.run(
            [sys.executable, str(ROOT / "deploy" / "local" / "demo.py")],
            env={**os.environ, "PYTHONPATH": str(ROOT), **urls},
            capture_output=True,
            text=True,
            check=False,
        )
        assert loaded.returncode == 0, loaded.stderr[-2000:]
        await asyncio.sleep(0)
        async with running_web(admin, system) as base:
            try:
                await measure(system, base, demo, tokens)
            finally:
                tokens.close()
    admin.close()


async def measure(system: System, base: str, demo: dict[str, dict[str, str]], tokens: IssuerTokens) -> None:
    api = {n: system[n].url + "/api/v1" for n in system.services}
    officer, province = demo["xa.sondong.canbo"], demo["tinh.bacninh.canbo"]
    commune_token = {"Authorization": f"Bearer {tokens('commune_officer', '07615')}"}
    province_token = {"Authorization": f"Bearer {tokens('province_officer', '24')}"}
    async with httpx.AsyncClient(timeout=30) as http:
        listed = (await http.get(api["cases"] + "/cases", params={"page_size": 1}, headers=commune_token)).json()
        person = listed["items"][0]["person_id"]
        people = (await http.get(api["registry"] + "/persons", headers=commune_token)).json()
        print(f"web pages at the demo's scale: {people['total']} people in Xã Sơn Động's area; {REPEATS} requests each")

        def direct(*calls: tuple[str, str, dict[str, Any], dict[str, str]]) -> Callable[[], Awaitable[Any]]:
            async def run() -> Any:
                return await asyncio.gather(*(http.get(api[s] + p, params=q, headers=h) for s, p, q, h in calls))

            return run

        async def names_of_work(headers: dict[str, str]) -> None:
            lists = (await http.get(api["cases"] + "/deadlines", headers=headers)).json()
            ids = {i["person_id"] for v in lists.values() if isinstance(v, list) for i in v if isinstance(i, dict)}
            query = {"person_id": sorted(ids), "page_size": len(ids)}
            await http.get(f"{api['registry']}/persons", params=query, headers=headers)

        async def person_file() -> None:
            await http.get(f"{api['registry']}/persons/{person}", headers=commune_token)
            found = (
                await http.get(api["cases"] + "/cases", params={"person_id": person}, headers=commune_token)
            ).json()
            await asyncio.gather(
                *(http.get(f"{api['cases']}/cases/{c['case_id']}", headers=commune_token) for c in found["items"])
            )

        def dashboard(unit: str, headers: dict[str, str]) -> Callable[[], Awaitable[Any]]:
            """The three reports the dashboard asks for, at once, for the period it shows by default."""
            period = {"unit_code": unit, "period": half}
            return direct(
                ("reporting", "/reports/indicators", period, headers),
                ("reporting", "/reports/quota-progress", {"unit_code": unit, "year": half[:4]}, headers),
                ("reporting", "/reports/post-rehab-coverage", period, headers),
            )

        half = current_half()
        c = commune_token
        pages: list[tuple[str, str, dict[str, str], Callable[[], Awaitable[Any]] | None]] = [
            ("Trang chủ (xã)", "/", officer, dashboard("07615", c)),
            ("Việc cần làm (xã, with names)", "/viec-can-lam", officer, lambda: names_of_work(c)),
            ("Hồ sơ: search", "/ho-so", officer, direct(("registry", "/persons", {"page_size": "50"}, c))),
            ("Hồ sơ: a person's file", f"/ho-so/{person}", officer, person_file),
            (
                "Báo cáo (xã, 6 months)",
                f"/bao-cao?period={half}",
                officer,
                direct(("reporting", "/reports/periodic", {"unit_code": "07615", "period": half}, c)),
            ),
            ("Nhập danh sách (form)", "/nhap-danh-sach", officer, None),
            ("Trang chủ (tỉnh)", "/", province, dashboard("24", province_token)),
            ("Việc cần làm (tỉnh, with names)", "/viec-can-lam", province, lambda: names_of_work(province_token)),
            (
                "Kế hoạch (tỉnh, 99 communes)",
                "/ke-hoach?year=2026&unit=24",
                province,
                direct(("quotas", "/plans/2026", {"unit_code": "24"}, province_token)),
            ),
        ]
        sessions = {a["username"]: sign_in(base, a["username"], a["password"]) for a in (officer, province)}
        worst = 0.0
        for name, path, account, baseline in pages:
            web = sessions[account["username"]]

            async def page(web: httpx.Client = web, path: str = path) -> None:
                answer = await asyncio.to_thread(web.get, path)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])

            spent = await timed(page, REPEATS)
            base_spent = await timed(baseline, REPEATS) if baseline else None
            worst = max(worst, percentile(spent, 0.95))
            line(name, spent, base_spent)
        verdict = "met" if worst < TARGET_MS else "NOT met"
        print(f"slowest page p95 {worst:.1f} ms: the {TARGET_MS} ms target is {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
