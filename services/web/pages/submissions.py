"""Báo cáo gửi cấp trên: a commune sends its report of a period up; the province reviews it beside the live numbers
and the late entries, approves or returns it, reopens it with a reason, and sees which communes have reported.

Every step is the reporting service's (`/reports/submissions`); its refusals (a role or unit without the duty, a
step out of turn) come back in the user's language.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from services.web.context import Page, Posted, Refused
from services.web.pages.periods import choices, valid_period
from services.web.pages.reports import MEDIA

router = APIRouter(include_in_schema=False)
ACTIONS = {  # the form's action: the cycle's step, the fields the reporting service takes
    "approval": ("approve", ("document_number",)),
    "return": ("return", ("comment", "document_number")),
    "reopen": ("reopen", ("reason", "document_number")),
}


@router.get("/bao-cao/gui")
async def submissions(ctx: Page, period: str = "") -> Response:
    """The user's unit: its submissions of the period and, for a commune, the button that sends the report up."""
    period = valid_period(period)
    if await ctx.may("reporting", "approve"):
        return RedirectResponse(f"/bao-cao/tong-hop?period={period}", 303)
    listed = await ctx.get_or_none("reporting", "/reports/submissions", unit_code=ctx.session.unit, period=period)
    return await ctx.render(
        "submissions.html",
        period=period,
        periods=choices(),
        submissions=list(reversed((listed or {}).get("submissions", []))),
        may_submit=await ctx.may("reporting", "submit"),
    )


@router.post("/bao-cao/gui")
async def submit(ctx: Posted) -> Response:
    if not await ctx.may("reporting", "submit"):
        raise Refused("submit")
    form = await ctx.request.form()
    period = valid_period(str(form.get("period") or ""))
    body: dict[str, Any] = {"unit_code": ctx.session.unit, "period": period}
    if number := str(form.get("document_number") or "").strip():
        body["document_number"] = number
    sent = await ctx.send("POST", "reporting", "/reports/submissions", body)
    ctx.flash(ctx.t("cycle.submitted", sha256=sent["sha256"][:12]))
    return RedirectResponse(f"/bao-cao/ban-gui/{sent['submission_id']}", 303)


@router.get("/bao-cao/ban-gui/{submission_id}")
async def review(ctx: Page, submission_id: str) -> Response:
    """The submission beside the live report of the same unit and period, with what was recorded after it."""
    history = await ctx.get("reporting", f"/reports/submissions/{submission_id}/history")
    submitted = await ctx.get("reporting", f"/reports/submissions/{submission_id}", format="json")
    live = await ctx.get("reporting", "/reports/periodic", unit_code=history["unit_code"], period=history["period"])
    late = await ctx.get("reporting", f"/reports/submissions/{submission_id}/changes")
    this = next(s for s in history["submissions"] if s["submission_id"] == submission_id)
    now = {i["indicator"]: i for i in live["indicators"]}
    rows = [(i, now.get(i["indicator"], {}).get("value")) for i in submitted["indicators"]]
    latest = history["submissions"][-1]
    return await ctx.render(
        "submission.html",
        this=this,
        history=history,
        report=submitted,
        rows=rows,
        late=late,
        may_review=await ctx.may("reporting", "approve") and latest["submission_id"] == submission_id,
    )


@router.post("/bao-cao/ban-gui/{submission_id}/{action}")
async def decide(ctx: Posted, submission_id: str, action: str) -> Response:
    """Approve, return (with a comment) or reopen (with a reason): the reporting service decides who may."""
    if action not in ACTIONS or not await ctx.may("reporting", ACTIONS[action][0]):
        raise Refused(action)
    form = await ctx.request.form()
    body = {name: str(form.get(name) or "").strip() for name in ACTIONS[action][1]}
    if not body.get("document_number"):
        body.pop("document_number", None)
    done = await ctx.send("POST", "reporting", f"/reports/submissions/{submission_id}/{action}", body)
    ctx.flash(ctx.t("cycle.state", state=ctx.t("cycle.state." + done["state"])))
    return RedirectResponse(f"/bao-cao/ban-gui/{submission_id}", 303)


@router.get("/bao-cao/ban-gui/{submission_id}/tai-ve")
async def download(ctx: Page, submission_id: str, format: str = "xlsx") -> Response:
    kind = format if format in MEDIA else "xlsx"
    answer = await ctx.web.backend.call(
        ctx.session, ctx.lang, "GET", "reporting", f"/reports/submissions/{submission_id}", params={"format": kind}
    )
    disposition = answer.headers.get("content-disposition", f'attachment; filename="bao-cao.{kind}"')
    return Response(answer.content, media_type=MEDIA[kind], headers={"Content-Disposition": disposition})


@router.get("/bao-cao/tong-hop")
async def completeness(ctx: Page, period: str = "", unit: str = "") -> Response:
    """The province's communes: who reported, when, on time or late; the consolidation of the approved reports."""
    period, unit = valid_period(period), unit or ctx.session.unit
    table = await ctx.get("reporting", "/reports/completeness", unit_code=unit, period=period)
    return await ctx.render("completeness.html", period=period, periods=choices(), unit=unit, table=table)
