"""The report cycle (issue 19) through the real stack: a commune's 2026-H1 report submitted, a backdated event
recorded after it, the submission reproduced to the byte and its late changes named; the review cycle by role;
the province's completeness and consolidation.

People (registered 2026-01-05, A 2025-11-05, and determined addicted the same day; cases enrolled and completed by
province 24):
  A 07615 Xã Sơn Động     voluntary community from 2025-12-01 (6 months); completion dated 2026-06-10 recorded
                          after the submission (backdated): the live H1 report gains a completer awaiting a
                          post-rehab decision
  B 07615 Xã Sơn Động     voluntary community from 2026-02-01
  C 09169 Phường Vũ Ninh  voluntary community from 2026-02-10
Xã Sơn Động's H1 report as submitted: 1 voluntary community enrolment (B), 0 completers; after A's completion the
live report has 1 completer (0 covered) and 1 completer awaiting a decision. 07210 Phường Bắc Giang never submits.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from services.reporting.apply import on_event
from services.topology import CASES_TOPIC, REPORTS_TOPIC
from services.web.app import create_app
from services.web.settings import WebSettings
from shared.kernel.clock import today
from shared.kernel.events import Envelope
from shared.kernel.ids import uuid7
from tests.integration.reporting.conftest import System
from tests.support.polling import wait_until
from tests.support.services import read_topic

pytestmark = pytest.mark.integration
PROVINCE = ("province_officer", "24")
SON_DONG = ("commune_officer", "07615")
SON_DONG_POLICE = ("commune_police", "07615")
VU_NINH = ("commune_officer", "09169")
FORMATS = ("json", "csv", "xlsx")


async def call(
    system: System, method: str, path: str, who: tuple[str, str], status: int, body: Any = None, **params: str
) -> Any:
    answer = await system.reporting.http.request(
        method, f"/api/v1/reports/{path}", json=body, params=params, headers=system.reporting.auth(*who)
    )
    assert answer.status_code == status, answer.text
    return answer


async def files(system: System, submission_id: str, who: tuple[str, str] = PROVINCE) -> dict[str, bytes]:
    return {f: (await call(system, "GET", f"submissions/{submission_id}", who, 200, format=f)).content for f in FORMATS}


async def figures(system: System, unit: str = "07615") -> dict[str, Any]:
    live = (await call(system, "GET", "periodic", PROVINCE, 200, unit_code=unit, period="2026-H1")).json()
    return {i["indicator"]: i for i in live["indicators"]}


@pytest.fixture(scope="module")
async def submitted(system: System) -> dict[str, Any]:
    s = system
    a, b = (
        await s.person("07615", "1990-01-01", recorded_on="2025-11-05", facility="24"),
        await s.person("07615", "1992-01-01", recorded_on="2026-01-05", facility="24"),
    )
    c = await s.person("09169", "1994-01-01", recorded_on="2026-01-05", facility="24")
    for person in (a, b, c):
        await s.known_to_cases(person, "addict")
    case_a = await s.enrol(a, "voluntary_community", "2025-12-01", 6, role=PROVINCE)
    await s.enrol(b, "voluntary_community", "2026-02-01", 6, role=PROVINCE)
    await s.enrol(c, "voluntary_community", "2026-02-10", 6, role=PROVINCE)
    await s.applied(9)
    answer = await call(
        s,
        "POST",
        "submissions",
        SON_DONG,
        201,
        {"unit_code": "07615", "period": "2026-H1", "document_number": "12/BC-UBND"},
    )
    got = answer.json()
    first = await files(s, got["submission_id"])
    live_then = await figures(s)
    await s.step(case_a, "completion", {"completed_on": "2026-06-10", "certificate_number": "GCN-A"}, PROVINCE)
    await s.applied(10)
    return {**got, "case_a": case_a, "files": first, "live_then": live_then}


async def test_the_submitted_report_is_the_one_hashed(system: System, submitted: dict[str, Any]) -> None:
    body = submitted["files"]["json"]
    assert hashlib.sha256(body).hexdigest() == submitted["sha256"]
    report = json.loads(body)
    assert (report["unit_code"], report["period"]) == ("07615", "2026-H1")
    assert submitted["live_then"]["voluntary_community_rehab_enrolments"]["value"] == 1
    book = load_workbook(io.BytesIO(submitted["files"]["xlsx"]))
    assert book.properties.keywords == f"sha256:{submitted['sha256']}"
    assert "07615" in (book.properties.title or "") and "2026-H1" in (book.properties.title or "")
    assert submitted["sha256"] in book.active.oddFooter.left.text  # type: ignore[union-attr]
    assert "test-commune_officer-07615" in (book.properties.creator or "")
    csv = submitted["files"]["csv"].decode("utf-8-sig")
    assert submitted["sha256"] in csv and "12/BC-UBND" in csv


async def test_a_backdated_completion_changes_the_live_report_not_the_submitted_one(
    system: System, submitted: dict[str, Any]
) -> None:
    live = await figures(system)
    assert live["post_rehab_management_coverage"]["completers"] == 1
    assert live["completers_awaiting_post_rehab_decision"]["value"] == 1
    assert submitted["live_then"]["completers_awaiting_post_rehab_decision"]["value"] == 0
    assert await files(system, submitted["submission_id"]) == submitted["files"]
    assert await files(system, submitted["submission_id"], SON_DONG) == submitted["files"]
    await changes_name_the_case(system, submitted)


async def changes_name_the_case(system: System, submitted: dict[str, Any]) -> None:
    got = (await call(system, "GET", f"submissions/{submitted['submission_id']}/changes", PROVINCE, 200)).json()
    assert [(c["case_id"], [e["event_type"] for e in c["events"]]) for c in got["changes"]] == [
        (submitted["case_a"], ["case_completed"])
    ]
    deltas = {(d["indicator"], d["field"]): d for d in got["changes"][0]["indicators"]}
    assert deltas[("completers_awaiting_post_rehab_decision", "value")]["delta"] == 1
    assert deltas[("post_rehab_management_coverage", "completers")]["delta"] == 1
    assert deltas[("post_rehab_management_coverage", "completers")]["submitted"] == 0
    totals = {(d["indicator"], d["field"]): d["delta"] for d in got["totals"]}
    assert totals[("completers_awaiting_post_rehab_decision", "value")] == 1


async def log_complete(system: System, value: bool | None = None) -> bool:
    async with system.reporting.app.state.runtime.engine.begin() as conn:
        if value is not None:
            await conn.execute(text("UPDATE generation SET log_complete = :v"), {"v": value})
        return bool(await conn.scalar(text("SELECT log_complete FROM generation")))


async def test_after_a_rebuild_the_submission_reproduces_to_the_byte(system: System, submitted: dict[str, Any]) -> None:
    # facts folded before their event log existed (a generation reporting_0003 found): no submission from them
    await log_complete(system, False)
    refused = await call(system, "POST", "submissions", VU_NINH, 409, {"unit_code": "09169", "period": "2026-H1"})
    assert refused.json()["error"]["code"] == "rebuild_required" and "dựng lại" in refused.text
    ops = system.reporting.auth("ops", "VN")
    started = await system.reporting.http.post("/api/v1/projections/rebuild", headers=ops)
    assert started.status_code == 202, started.text

    async def status() -> dict[str, Any]:
        return dict((await system.reporting.http.get("/api/v1/projections/status", headers=ops)).json())

    new = started.json()["generation"]
    await wait_until(status, lambda s: (s["state"], s["generation"]) == ("live", new), interval=0.1, what="rebuilt")
    assert await files(system, submitted["submission_id"]) == submitted["files"]
    assert await log_complete(system)  # the new generation logged every envelope it folded
    assert (await figures(system))["completers_awaiting_post_rehab_decision"]["value"] == 1
    await changes_name_the_case(system, submitted)


async def test_a_tampered_log_is_refused_loudly_never_served(system: System, submitted: dict[str, Any]) -> None:
    engine = system.reporting.app.state.runtime.engine
    async with engine.begin() as conn:
        generation = await conn.scalar(text("SELECT current FROM generation"))
        moved = await conn.execute(
            text(
                f"UPDATE g{generation}_events SET recorded_at = recorded_at - interval '100 days'"
                " WHERE envelope->>'event_type' = 'case_completed' RETURNING stream_id, version, recorded_at"
            )
        )
        rows = list(moved)
    assert len(rows) == 1
    try:
        refused = await call(system, "GET", f"submissions/{submitted['submission_id']}", PROVINCE, 500)
        assert refused.json()["error"]["code"] == "report_integrity_error"
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    f"UPDATE g{generation}_events SET recorded_at = recorded_at + interval '100 days'"
                    " WHERE stream_id = :s AND version = :v"
                ),
                {"s": rows[0].stream_id, "v": rows[0].version},
            )
    assert await files(system, submitted["submission_id"]) == submitted["files"]


async def test_the_review_cycle_by_role(system: System, submitted: dict[str, Any]) -> None:
    s, first = system, submitted["submission_id"]
    path = f"submissions/{first}"
    for who in (SON_DONG, SON_DONG_POLICE, ("province_officer", "01"), ("admin", "VN"), ("district_officer", "220")):
        refused = await call(s, "POST", f"{path}/approval", who, 403)
        assert refused.json()["error"]["code"] in ("forbidden", "unit_abolished")
    await call(s, "POST", f"{path}/return", PROVINCE, 422, {"comment": ""})
    await call(s, "POST", f"{path}/reopen", PROVINCE, 409, {"reason": "sửa số liệu"})  # not approved yet
    returned = await call(s, "POST", f"{path}/return", PROVINCE, 200, {"comment": "Thiếu ca hoàn thành của chị A"})
    assert returned.json()["state"] == "returned"
    await call(s, "POST", f"{path}/approval", PROVINCE, 409)
    body = {"unit_code": "07615", "period": "2026-H1"}
    await call(s, "POST", "submissions", VU_NINH, 403, body)  # another commune's officer
    await call(s, "POST", "submissions", PROVINCE, 403, body)  # the province reviews, it does not submit
    await call(s, "POST", "submissions", ("health_facility", "24"), 403, body)
    for refused in ({"unit_code": "24", "period": "2026-H1"}, {"unit_code": "07615", "period": "2024-H2"}):
        await call(s, "POST", "submissions", PROVINCE, 422, refused)  # a province; a period before the reform
    if today() <= date(2026, 12, 31):  # a period that has not ended is not reported yet
        await call(s, "POST", "submissions", SON_DONG, 422, {"unit_code": "07615", "period": "2026"})
    second = (await call(s, "POST", "submissions", SON_DONG_POLICE, 201, body)).json()["submission_id"]
    await call(s, "POST", "submissions", SON_DONG, 409, body)  # already submitted, awaiting review
    await call(s, "POST", f"{path}/approval", PROVINCE, 409)  # the first one was superseded
    assert (await call(s, "POST", f"submissions/{second}/approval", PROVINCE, 200)).json()["state"] == "approved"
    await call(s, "POST", f"submissions/{second}/approval", PROVINCE, 409)
    await call(s, "POST", f"submissions/{second}/reopen", PROVINCE, 422, {"reason": " "})
    await call(s, "POST", f"submissions/{second}/reopen", SON_DONG, 403, {"reason": "sửa"})
    reopened = await call(s, "POST", f"submissions/{second}/reopen", PROVINCE, 200, {"reason": "Nhập muộn ca của A"})
    assert reopened.json()["state"] == "reopened"
    third = (await call(s, "POST", "submissions", SON_DONG, 201, body)).json()["submission_id"]
    history = (await call(s, "GET", f"submissions/{third}/history", PROVINCE, 200)).json()
    assert [x["submission_id"] for x in history["submissions"]] == [first, second, third]
    assert [x["status"] for x in history["submissions"]] == ["returned", "reopened", "submitted"]
    assert [e["event_type"] for e in history["events"]] == [
        "report_submitted",
        "report_returned",
        "report_submitted",
        "report_approved",
        "report_reopened",
        "report_submitted",
    ]
    assert history["events"][1]["notes"] == {"comment": "Thiếu ca hoàn thành của chị A"}
    assert [e["actor"]["role"] for e in history["events"]][:3] == [
        "commune_officer",
        "province_officer",
        "commune_police",
    ]
    assert await files(s, first) == submitted["files"]  # an earlier submission stays exactly as it was sent
    await call(s, "GET", f"submissions/{third}", ("commune_officer", "09169"), 404)  # another commune's report
    on_bus = [v for _, v in await read_topic(s.reporting.settings, REPORTS_TOPIC)]
    assert [v["event_type"] for v in on_bus if v["stream_id"] == "report-07615-2026-H1"] == [
        e["event_type"] for e in history["events"]
    ]
    raw = json.dumps(on_bus, ensure_ascii=False)
    assert "Thiếu ca" not in raw and "Nhập muộn" not in raw  # comments and reasons never reach Kafka
    submitted["approvable"] = third


async def test_the_consolidation_is_the_sum_of_the_approved_reports_and_lists_who_did_not_submit(
    system: System, submitted: dict[str, Any]
) -> None:
    s = system
    third = submitted.get("approvable")
    assert third, "runs after the review cycle"
    await call(s, "POST", f"submissions/{third}/approval", PROVINCE, 200, {"document_number": "7/QĐ-UBND"})
    vu_ninh = (await call(s, "POST", "submissions", VU_NINH, 201, {"unit_code": "09169", "period": "2026-H1"})).json()
    await call(s, "POST", f"submissions/{vu_ninh['submission_id']}/approval", PROVINCE, 200)
    await call(s, "GET", "completeness", SON_DONG, 403, unit_code="24", period="2026-H1")
    got = (await call(s, "GET", "completeness", PROVINCE, 200, unit_code="24", period="2026-H1")).json()
    rows = {r["unit_code"]: r for r in got["communes"]}
    assert rows["07210"]["submitted"] is False and "07210" in got["not_submitted"]
    assert (rows["07615"]["status"], rows["07615"]["submissions"]) == ("approved", 3)
    assert rows["09169"]["status"] == "approved"
    assert got["deadline"] == "2026-07-07" and got["deadline_verified"] is False
    assert rows["07615"]["on_time"] is (today() <= date(2026, 7, 7))
    assert got["counts"]["approved"] == 2 and got["counts"]["not_submitted"] == got["counts"]["communes"] - 2
    approved = [json.loads((await files(s, sid))["json"]) for sid in (third, vu_ninh["submission_id"])]
    summed = {i["indicator"]: i for i in got["consolidation"]["indicators"]}
    for name in ("voluntary_community_rehab_enrolments", "completers_awaiting_post_rehab_decision"):
        parts = [next(i["value"] for i in r["indicators"] if i["indicator"] == name) for r in approved]
        assert summed[name]["value"] == sum(parts), (name, parts)
    assert summed["voluntary_community_rehab_enrolments"]["value"] == 2  # B in Sơn Động, C in Vũ Ninh
    assert summed["post_rehab_management_coverage"]["completers"] == 1
    assert summed["post_rehab_management_coverage"]["value"] == 0.0
    book = load_workbook(io.BytesIO((await files(s, third))["xlsx"]))
    assert "test-province_officer-24" in (book.properties.lastModifiedBy or "")
    bundle = (await call(s, "GET", "approved", PROVINCE, 200, unit_code="24", period="2026-H1")).json()
    assert sorted(r["submission"]["submission_id"] for r in bundle["reports"]) == sorted(
        [third, vu_ninh["submission_id"]]
    )
    assert [r["report"] for r in bundle["reports"] if r["submission"]["unit_code"] == "07615"] == [approved[0]]
    table = (await call(s, "GET", "approved", PROVINCE, 200, unit_code="24", period="2026-H1", format="csv")).text
    assert table.count(third) == len(approved[0]["indicators"]) and "07210" not in table
    listed = (await call(s, "GET", "submissions", PROVINCE, 200, unit_code="24", period="2026-H1")).json()
    assert {x["unit_code"] for x in listed["submissions"]} == {"07615", "09169"}


async def test_an_event_recorded_before_the_submission_but_delivered_after_it_is_a_late_change(
    system: System, submitted: dict[str, Any]
) -> None:
    """A dead letter replayed days later, or a relay that lagged: recorded before the submission's moment, it
    reached reporting after it. The submission still reproduces, and `changes` names it."""
    s, first = system, submitted["submission_id"]
    history = (await call(s, "GET", f"submissions/{first}/history", PROVINCE, 200)).json()
    known_at = datetime.fromisoformat(history["submissions"][0]["known_at"])
    on_cases = [Envelope.model_validate(v) for _, v in await read_topic(s.cases.settings, CASES_TOPIC)]
    b = next(e for e in on_cases if e.event_type == "case_enrolled" and e.payload["started_on"] == "2026-02-01")
    straggler = b.model_copy(
        update={"event_id": uuid7(), "stream_id": str(uuid7()), "recorded_at": known_at - timedelta(seconds=1)}
    )
    before = (await figures(s))["voluntary_community_rehab_enrolments"]["value"]
    async with s.reporting.app.state.runtime.engine.begin() as conn:
        await on_event(conn, straggler)  # the live consumer's handler, as a replay would call it
    assert (await figures(s))["voluntary_community_rehab_enrolments"]["value"] == before + 1
    assert await files(s, first) == submitted["files"]
    got = (await call(s, "GET", f"submissions/{first}/changes", PROVINCE, 200)).json()
    named = {c["case_id"]: c for c in got["changes"]}
    deltas = {(d["indicator"], d["field"]): d["delta"] for d in named[straggler.stream_id]["indicators"]}
    assert deltas[("voluntary_community_rehab_enrolments", "value")] == 1


class WebUser:
    """The web app as one signed-in user, its reporting calls answered by the test's reporting service."""

    def __init__(self, system: System, role: str, unit: str) -> None:
        self.app = create_app(WebSettings(oidc_issuer="http://idp.invalid/realms/rehab"))
        reporting = httpx.AsyncClient(transport=httpx.ASGITransport(app=system.reporting.app), base_url="http://r")
        self.app.state.web.backend._clients["reporting"] = reporting
        self.session = self.app.state.web.sessions.new()
        token = system.reporting.auth(role, unit)["Authorization"].split()[1]
        self.session.tokens = {"access_token": token, "expires_at": time.time() + 3600}
        self.session.claims = {"sub": f"test-{role}-{unit}", "role": role, "unit": unit}
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://web",
            cookies={"rehab_session": self.session.id},
        )

    async def post(self, path: str, **form: str) -> httpx.Response:
        return await self.http.post(path, data={"csrf": self.session.csrf, **form})


async def test_the_web_app_s_report_pages(system: System, submitted: dict[str, Any]) -> None:
    """Báo cáo: the province reviews beside the live numbers and the late entries, sees who has not reported,
    reopens; the commune sends the report again from its page; the download is the service's file."""
    province, commune = WebUser(system, *PROVINCE), WebUser(system, *SON_DONG)
    first = submitted["submission_id"]
    page = await province.http.get(f"/bao-cao/ban-gui/{first}")
    assert page.status_code == 200, page.text
    assert 'id="side-by-side"' in page.text and 'class="changed"' in page.text
    assert submitted["case_a"] in page.text  # the late completion, named in the late entries
    assert "Thiếu ca hoàn thành của chị A" in page.text  # the return's comment, in the history
    table = await province.http.get("/bao-cao/tong-hop?period=2026-H1")
    assert table.status_code == 200 and "Chưa gửi" in table.text and "Phường Bắc Giang" in table.text
    latest = (await call(system, "GET", f"submissions/{first}/history", PROVINCE, 200)).json()["submissions"][-1]
    assert latest["status"] == "approved"
    reopened = await province.post(f"/bao-cao/ban-gui/{latest['submission_id']}/reopen", reason="Sửa số liệu")
    assert reopened.status_code == 303, reopened.text
    assert (await commune.post(f"/bao-cao/ban-gui/{first}/approval")).status_code == 403  # not the commune's step
    mine = await commune.http.get("/bao-cao/gui?period=2026-H1")
    assert mine.status_code == 200 and 'id="submit-report"' in mine.text
    sent = await commune.post("/bao-cao/gui", period="2026-H1")
    assert sent.status_code == 303 and sent.headers["location"].startswith("/bao-cao/ban-gui/")
    new = sent.headers["location"].rsplit("/", 1)[1]
    xlsx = await commune.http.get(f"/bao-cao/ban-gui/{new}/tai-ve?format=xlsx")
    assert xlsx.status_code == 200
    assert xlsx.content == (await files(system, new, SON_DONG))["xlsx"]
