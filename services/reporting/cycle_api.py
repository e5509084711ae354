"""The report cycle's HTTP API (`/api/v1/reports/submissions`, `/api/v1/reports/completeness`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.api import READERS, XLSX
from services.reporting.apply import SWAP_LOCK, hold
from services.reporting.completeness import completeness
from services.reporting.cycle import Action, Submissions, allowed_steps
from services.reporting.domain.events import REPORT_EVENTS
from services.reporting.exports import bundle_csv, to_csv, to_xlsx
from services.reporting.late import changes
from services.reporting.periods import parse_period
from services.reporting.submitted import find, of_units, reproduce, signature, summary
from shared.kernel.events import HistoryEntry
from shared.kernel.notes import load_notes
from shared.kernel.uow import SqlUnitOfWork
from shared.runtime.auth import CurrentPrincipal, Principal, require_role
from shared.runtime.errors import Forbidden, Invalid, NotFound
from shared.runtime.service import Runtime, runtime_of
from shared.vn.text import FreeText, Reference
from shared.vn.units import UnknownUnitError

router = APIRouter(prefix="/api/v1", tags=["report cycle"])


def submissions_service(request: Request) -> Submissions:
    """The report cycle's application service, built once by the composition root (app.py)."""
    service: Submissions = request.app.state.submissions
    return service


SubmissionsService = Annotated[Submissions, Depends(submissions_service)]


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_code: str = Field(min_length=2, max_length=12, pattern=r"^[0-9]+$")
    period: str = Field(min_length=4, max_length=10)
    document_number: Reference | None = Field(default=None, max_length=120)


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_number: Reference | None = Field(default=None, max_length=120)


class ReturnIn(ApprovalIn):
    comment: FreeText = Field(min_length=1, max_length=2000)


class ReopenIn(ApprovalIn):
    reason: FreeText = Field(min_length=1, max_length=2000)


@asynccontextmanager
async def snapshot(rt: Runtime) -> AsyncIterator[AsyncConnection]:
    """One consistent read that a generation swap waits for (as the live reports read)."""
    async with rt.engine.begin() as conn:
        await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        await hold(conn, SWAP_LOCK)
        yield conn


async def visible(conn: AsyncConnection, rt: Runtime, who: Principal, submission_id: str) -> Any:
    """The submission if the caller's area holds its commune; not found otherwise (its existence does not leak)."""
    require_role(who, *READERS)
    row = await find(conn, submission_id)
    if row is None or not rt.units.within_now(row.unit_code, who.unit):
        raise NotFound(f"no submission {submission_id[:40]} (không có bản gửi này)")
    return row


@router.get("/reports/cycle/capabilities", summary="The steps of the report cycle the caller's role may take")
async def cycle_capabilities(who: CurrentPrincipal) -> dict[str, Any]:
    return {"actions": allowed_steps(who)}


@router.post("/reports/submissions", status_code=201, summary="Submit a commune's report of a period as known now")
async def submit(body: SubmissionIn, who: CurrentPrincipal, request: Request, cycle: SubmissionsService) -> Any:
    rt = runtime_of(request)
    async with SqlUnitOfWork(rt.engine) as uow:
        submission_id, sha256 = await cycle.submit(uow, who, body.unit_code, body.period, body.document_number)
        await uow.commit()
    return {"submission_id": submission_id, "sha256": sha256}


@router.get("/reports/submissions", summary="The submissions of a unit (or of the communes under it) for a period")
async def list_submissions(who: CurrentPrincipal, request: Request, period: str, unit_code: str | None = None) -> Any:
    require_role(who, *READERS)
    rt = runtime_of(request)
    unit = unit_code or who.unit
    if not rt.units.exists(unit) or not rt.units.within_now(unit, who.unit):
        raise Forbidden(f"unit {unit[:12]} is outside your area ({who.unit})")
    codes = [unit] + [c.code for c in rt.units.children(unit, "2025")]
    async with rt.engine.connect() as conn:
        rows = await of_units(conn, codes, parse_period(period).label)
    return {"unit_code": unit, "period": parse_period(period).label, "submissions": [summary(r) for r in rows]}


@router.get("/reports/submissions/{submission_id}", summary="The submitted report, reproduced exactly (checked)")
async def get_submission(
    submission_id: str, who: CurrentPrincipal, request: Request, format: Literal["json", "csv", "xlsx"] = "json"
) -> Response:
    rt = runtime_of(request)
    async with snapshot(rt) as conn:
        row = await visible(conn, rt, who, submission_id)
        report, body = await reproduce(conn, rt.units, row)
    name = f"bao-cao-{row.unit_code}-{row.period}-lan-{row.number}"
    headers = {"X-Report-SHA256": row.sha256, "X-Report-Status": row.status}
    if format == "json":
        return Response(body, media_type="application/json", headers=headers)
    signed = signature(row, _name(rt, row.unit_code))
    if format == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return Response(
            to_csv(report, signed).encode("utf-8-sig"), media_type="text/csv; charset=utf-8", headers=headers
        )
    headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return Response(to_xlsx(report, signed), media_type=XLSX, headers=headers)


def _name(rt: Runtime, code: str) -> str:
    try:
        return rt.units.get(code, edition="2025").name
    except (KeyError, UnknownUnitError):
        return code


async def _review(
    request: Request,
    who: Principal,
    cycle: Submissions,
    submission_id: str,
    action: Action,
    text_: str,
    number: str | None,
) -> dict[str, Any]:
    """One review step in its own unit of work; the report's state after it."""
    rt = runtime_of(request)
    async with SqlUnitOfWork(rt.engine) as uow:
        state = await cycle.review(uow, who, submission_id, action, text_, number)
        await uow.commit()
    return {"submission_id": submission_id, "state": state}


@router.post("/reports/submissions/{submission_id}/approval", summary="The province approves the submission")
async def approve(
    submission_id: str,
    who: CurrentPrincipal,
    request: Request,
    cycle: SubmissionsService,
    body: ApprovalIn | None = None,
) -> Any:
    number = body.document_number if body else None
    return await _review(request, who, cycle, submission_id, "approve", "", number)


@router.post("/reports/submissions/{submission_id}/return", summary="The province returns it with a comment")
async def return_(
    submission_id: str, body: ReturnIn, who: CurrentPrincipal, request: Request, cycle: SubmissionsService
) -> Any:
    return await _review(request, who, cycle, submission_id, "return", body.comment, body.document_number)


@router.post("/reports/submissions/{submission_id}/reopen", summary="The province reopens an approved report")
async def reopen(
    submission_id: str, body: ReopenIn, who: CurrentPrincipal, request: Request, cycle: SubmissionsService
) -> Any:
    return await _review(request, who, cycle, submission_id, "reopen", body.reason, body.document_number)


@router.get("/reports/submissions/{submission_id}/changes", summary="Events recorded since that change its numbers")
async def get_changes(submission_id: str, who: CurrentPrincipal, request: Request) -> Any:
    rt = runtime_of(request)
    async with snapshot(rt) as conn:
        row = await visible(conn, rt, who, submission_id)
        return await changes(conn, rt.units, row)


@router.get("/reports/submissions/{submission_id}/history", summary="Every step of the report, every submission kept")
async def get_history(submission_id: str, who: CurrentPrincipal, request: Request) -> Any:
    rt = runtime_of(request)
    assert rt.store is not None
    async with snapshot(rt) as conn:
        row = await visible(conn, rt, who, submission_id)
        envelopes = await rt.store.load(conn, row.stream_id)
        notes = await load_notes(conn, [e.event_id for e in envelopes])
        rows = await of_units(conn, [row.unit_code], row.period)
    for env in envelopes:
        REPORT_EVENTS.decode(env)  # an event this code cannot read fails here, not in a client
    return {
        "unit_code": row.unit_code,
        "period": row.period,
        "submissions": [summary(r) for r in rows],
        "events": [
            {**HistoryEntry.of(e).model_dump(mode="json"), "notes": notes.get(e.event_id, {})} for e in envelopes
        ],
    }


@router.get("/reports/completeness", summary="Which communes submitted, on time or late; the consolidation")
async def get_completeness(who: CurrentPrincipal, request: Request, period: str, unit_code: str | None = None) -> Any:
    require_role(who, *READERS)
    rt = runtime_of(request)
    unit = unit_code or who.unit
    try:
        level = rt.units.get(unit, edition="2025").level
    except (KeyError, UnknownUnitError):
        level = None
    if level != "province":
        raise Invalid(
            "unit_code must be a province of today's units (mã đơn vị phải là cấp tỉnh hiện hành)",
            {"unit_code": "not a province (không phải cấp tỉnh)"},
        )
    if not rt.units.within_now(unit, who.unit):
        raise Forbidden(f"unit {unit} is outside your area ({who.unit})")
    async with snapshot(rt) as conn:
        return JSONResponse(await completeness(conn, rt.units, unit, period))


@router.get("/reports/approved", summary="A province's approved reports of a period, as one JSON or CSV bundle")
async def approved_bundle(
    who: CurrentPrincipal, request: Request, period: str, unit_code: str, format: Literal["json", "csv"] = "json"
) -> Response:
    """For partners: every approved commune report of the province (each reproduced and hash-checked)."""
    require_role(who, *READERS)
    rt = runtime_of(request)
    if not rt.units.exists(unit_code) or not rt.units.within_now(unit_code, who.unit):
        raise Forbidden(f"unit {unit_code[:12]} is outside your area ({who.unit})")
    label = parse_period(period).label
    codes = [c.code for c in rt.units.children(unit_code, "2025")] or [unit_code]
    async with snapshot(rt) as conn:
        latest = {r.unit_code: r for r in await of_units(conn, codes, label)}
        reports = [
            (row, (await reproduce(conn, rt.units, row))[0]) for row in latest.values() if row.status == "approved"
        ]
    if format == "csv":
        name = f"bao-cao-da-duyet-{unit_code}-{label}.csv"
        return Response(
            bundle_csv(reports).encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(
        {
            "unit_code": unit_code,
            "period": label,
            "reports": [{"submission": summary(row), "report": report} for row, report in reports],
        }
    )
