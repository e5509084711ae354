"""The reporting HTTP API (`/api/v1`): reports per unit and period, exports, projection rebuild and status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Literal

from aiokafka import TopicPartition
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from services.reporting.apply import SWAP_LOCK, topic_status
from services.reporting.exports import to_csv, to_xlsx
from services.reporting.facts import current
from services.reporting.periods import parse_period, report_day
from services.reporting.rebuild import Rebuild
from services.reporting.reports import Reports
from services.topology import ALL_TOPICS
from shared.kernel.clock import today
from shared.kernel.kafka import make_admin, make_consumer
from shared.kernel.subscriber import consumer_group
from shared.runtime.auth import CurrentPrincipal, Principal, Role, require_role, require_scope
from shared.runtime.errors import Conflict, Invalid
from shared.runtime.service import Composition, Runtime, runtime_of

router = APIRouter(prefix="/api/v1", tags=["reports"])
READERS = (
    Role.COMMUNE_OFFICER,
    Role.COMMUNE_POLICE,
    Role.DISTRICT_OFFICER,
    Role.PROVINCE_OFFICER,
    Role.HEALTH_FACILITY,
    Role.AUDITOR,
    Role.ADMIN,
)
SUBSCRIPTION = "reporting-projections"
Year = Annotated[int, Query(ge=2000, le=2100)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def compose(rt: Runtime) -> Composition:
    """The projection rebuild over this runtime's engine and topics, built once."""
    return Composition({"rebuild": Rebuild(rt.engine, rt.settings, tuple(rt.settings.topic(t) for t in ALL_TOPICS))})


def rebuilder(request: Request) -> Rebuild:
    """The rebuild job of this service, from the composition root."""
    rebuild: Rebuild = request.app.state.rebuild
    return rebuild


@asynccontextmanager
async def reports_for(request: Request, who: Principal, unit_code: str) -> AsyncIterator[Reports]:
    """Reports on the current generation, in one snapshot that a generation swap waits for."""
    require_role(who, *READERS)
    rt = runtime_of(request)
    if not rt.units.exists(unit_code):  # only a code from the catalogue reaches a report, a cell or a file name
        raise Invalid(
            "unit_code is not a known administrative unit code (mã đơn vị hành chính không hợp lệ)",
            {"unit_code": "unknown unit code (mã đơn vị không tồn tại)"},
        )
    require_scope(who, unit_code, rt.units)
    async with rt.engine.begin() as conn:
        await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        await conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": SWAP_LOCK})
        yield Reports(conn, await current(conn), rt.units)


@router.get("/reports/quota-progress", summary="Quota, achieved and ratio per child unit and in total")
async def quota_progress(who: CurrentPrincipal, request: Request, year: Year, unit_code: str | None = None) -> Any:
    async with reports_for(request, who, unit_code or who.unit) as reports:
        return await reports.quota_progress(year, unit_code or who.unit)


@router.get("/reports/post-rehab-coverage", summary="Completers, covered, ratio, and the uncovered with days waiting")
async def coverage(
    who: CurrentPrincipal,
    request: Request,
    unit_code: str | None = None,
    as_of: date | None = None,
    period: str | None = None,
) -> Any:
    span = parse_period(period, as_of or (None if period else today()))
    async with reports_for(request, who, unit_code or who.unit) as reports:
        return await reports.coverage(unit_code or who.unit, span)


@router.get("/reports/indicators", summary="Every indicator with its target and status")
async def indicators(
    who: CurrentPrincipal,
    request: Request,
    unit_code: str | None = None,
    period: str | None = None,
    as_of: date | None = None,
) -> Any:
    span = parse_period(period, as_of or (None if period else today()))
    async with reports_for(request, who, unit_code or who.unit) as reports:
        return await reports.indicators(unit_code or who.unit, span)


@router.get("/reports/outstanding", summary="Absconders at large and completers awaiting a post-rehab decision")
async def outstanding(
    who: CurrentPrincipal, request: Request, unit_code: str | None = None, as_of: date | None = None
) -> Any:
    async with reports_for(request, who, unit_code or who.unit) as reports:
        return await reports.outstanding(unit_code or who.unit, report_day(as_of or today()))


@router.get("/reports/periodic", summary="The 6-month or annual report as JSON, CSV or XLSX (Vietnamese headings)")
async def periodic(
    who: CurrentPrincipal,
    request: Request,
    period: str,
    unit_code: str | None = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Response:
    unit = unit_code or who.unit
    async with reports_for(request, who, unit) as reports:
        report = await reports.periodic(unit, parse_period(period))
    name = f"bao-cao-{unit}-{report['period']}"  # a catalogue code and a rebuilt period label: nothing else
    if format == "csv":
        return Response(
            to_csv(report).encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        return Response(
            to_xlsx(report), media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'}
        )
    return JSONResponse(report)


@router.post(
    "/projections/rebuild",
    status_code=202,
    tags=["operations"],
    summary="Replay every topic from offset 0 into fresh tables; swap them in when caught up",
)
async def rebuild(who: CurrentPrincipal, request: Request) -> dict[str, Any]:
    require_role(who, Role.OPS)
    job = rebuilder(request)
    if job.running:
        raise Conflict("a rebuild is already running", progress=job.progress)
    generation = await job.start()
    return {"generation": generation, "state": "rebuilding"}


@router.get("/projections/status", tags=["operations"], summary="Generation, rebuild progress, lag per partition")
async def status(who: CurrentPrincipal, request: Request) -> Any:
    require_role(who, Role.OPS, Role.ADMIN)
    rt = runtime_of(request)
    async with rt.engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM generation WHERE id = 1"))).one()
        sources = await topic_status(conn, await current(conn))
    return {
        "generation": row.current,
        "state": row.state,
        "building": row.building,
        "last_rebuild": {"started_at": row.started_at, "finished_at": row.finished_at, "detail": row.detail},
        "rebuild_progress": rebuilder(request).progress or None,
        "applied_by_source": sources,
        "partitions": await _lag(rt),
    }


async def _lag(rt: Runtime) -> list[dict[str, Any]]:
    group = consumer_group("reporting", rt.settings.schema_name, SUBSCRIPTION)
    admin = make_admin(rt.settings)
    consumer = make_consumer(rt.settings)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        described = await admin.describe_topics([rt.settings.topic(t) for t in ALL_TOPICS])
        partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
        await admin.close()
    out = []
    for tp in sorted(partitions):
        meta = committed.get(tp)
        position = meta.offset if meta is not None and meta.offset >= 0 else 0
        out.append(
            {
                "topic": tp.topic,
                "partition": tp.partition,
                "position": position,
                "end": ends[tp],
                "lag": max(ends[tp] - position, 0),
            }
        )
    return out
