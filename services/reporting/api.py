"""The reporting HTTP API (`/api/v1`): reports per unit and period, exports, projection rebuild and status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Literal

import orjson
from aiokafka import TopicPartition
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from services.reporting.apply import SWAP_LOCK, hold, topic_status
from services.reporting.exports import to_csv, to_xlsx
from services.reporting.facts import current, shared_snapshot
from services.reporting.hierarchy import BEFORE_REFORM, Hierarchy, forward, hierarchy_of
from services.reporting.periods import parse_period, report_day
from services.reporting.rebuild import Rebuild
from services.reporting.reports import Reports
from services.topology import ALL_TOPICS
from shared.kernel.clock import today
from shared.kernel.kafka import make_admin, make_consumer
from shared.kernel.subscriber import consumer_group
from shared.runtime.auth import CurrentPrincipal, Principal, Role, UnitAbolished, require_role
from shared.runtime.errors import Conflict, Forbidden, Invalid
from shared.runtime.service import Composition, Runtime, runtime_of
from shared.vn.units import NATIONAL, REFORM_DATE, AdminUnits

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
LANES = 2  # connections a report above a commune reads on, side by side: the cores of a small database server
Year = Annotated[int, Query(ge=2000, le=2100)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def compose(rt: Runtime) -> Composition:
    """The projection rebuild over this runtime's engine and topics, built once."""
    return Composition({"rebuild": Rebuild(rt.engine, rt.settings, tuple(rt.settings.topic(t) for t in ALL_TOPICS))})


def rebuilder(request: Request) -> Rebuild:
    """The rebuild job of this service, from the composition root."""
    rebuild: Rebuild = request.app.state.rebuild
    return rebuild


class ReportUnitAbolished(Invalid):
    """A report of a period after 2025-07-01 asked for a unit the reorganisation abolished."""

    code = "unit_abolished"


@asynccontextmanager
async def reports_for(request: Request, who: Principal, unit_code: str, hierarchy: Hierarchy) -> AsyncIterator[Reports]:
    """Reports on the current generation, in one snapshot that a generation swap waits for."""
    require_role(who, *READERS)
    rt = runtime_of(request)
    if not rt.units.exists(unit_code):  # only a code from the catalogue reaches a report, a cell or a file name
        raise Invalid(
            "unit_code is not a known administrative unit code (mã đơn vị hành chính không hợp lệ)",
            {"unit_code": "unknown unit code (mã đơn vị không tồn tại)"},
        )
    authorize_report(who, rt.units, unit_code, hierarchy)
    # above a commune, a report's statements take milliseconds to hundreds each: they run on LANES connections side
    # by side, in one snapshot; a commune's take a few milliseconds, less than opening another transaction
    lanes = LANES - 1 if unit_code == NATIONAL or rt.units.children(unit_code, hierarchy.edition) else 0
    async with rt.engine.begin() as conn:
        await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        await hold(conn, SWAP_LOCK)
        f = await current(conn)
        async with shared_snapshot(rt.engine, conn, lanes) as more:
            yield Reports(conn, f, rt.units, lanes=more)


def authorize_report(who: Principal, units: AdminUnits, unit_code: str, hierarchy: Hierarchy) -> None:
    """May `who` read the report of `unit_code` in `hierarchy`? Refuses with the reason (and the successors).

    A period before 2025-07-01 is read on the units of that time: an account of an abolished unit (a district, a
    merged commune) reads the units inside it; an account of today's units reads every former unit whose records
    it took over (the 07615 officer reads Xã An Bá's 2024 report; province 24 reads Huyện Sơn Động's and old
    Bắc Ninh's). A later period is on today's units only: a unit the reform abolished has no report of it, and
    an account of one reads none (both answers name the units that took over).
    """
    outside = Forbidden(f"unit {unit_code} is outside your area ({who.unit})")
    if hierarchy.edition == "2024":
        if unit_code != NATIONAL and not units.exists(unit_code, BEFORE_REFORM):
            raise Invalid(
                f"unit {unit_code} only exists from {REFORM_DATE.isoformat()}: a report of a period before it is "
                f"read on the units of that time (đơn vị {unit_code} chỉ có từ 01/07/2025; báo cáo kỳ trước đó "
                "dùng đơn vị hành chính cũ)",
                {"unit_code": "not a unit before 2025-07-01 (không phải đơn vị trước 01/07/2025)"},
            )
        if who.unit == NATIONAL:
            return
        if not units.is_current(who.unit):
            if not units.is_within(unit_code, who.unit, BEFORE_REFORM):
                raise outside
            return
        now = forward(units).then_now(unit_code)
        inherited = now is not None and units.within_now(now, who.unit)
        candidate = units.split(unit_code) and who.unit in units.successors(unit_code)
        if not (inherited or candidate):
            raise outside
        return
    if unit_code != NATIONAL and not units.is_current(unit_code):
        heirs = units.successor_units(unit_code)
        names = ", ".join(f"{u.code} {u.name}" for u in heirs)
        raise ReportUnitAbolished(
            f"unit {unit_code} was abolished on {REFORM_DATE.isoformat()}: a report of a period ending after that "
            f"is made for the units that took it over: {names} (đơn vị {unit_code} không còn từ 01/07/2025; báo "
            f"cáo kỳ sau ngày này lập theo đơn vị kế thừa: {names})",
            {"unit_code": f"abolished on {REFORM_DATE.isoformat()} (đã giải thể từ 01/07/2025)"},
            successors=[u.code for u in heirs],
        )
    if not units.is_current(who.unit):
        heirs = units.successor_units(who.unit)
        names = ", ".join(f"{u.code} {u.name}" for u in heirs)
        raise UnitAbolished(
            f"unit {who.unit} was abolished on {REFORM_DATE.isoformat()}: its account reads reports of periods "
            f"before that date; later ones are read by its successors {names} (đơn vị {who.unit} không còn từ "
            f"01/07/2025; báo cáo kỳ sau ngày này do đơn vị kế thừa xem: {names})",
            successors=[u.code for u in heirs],
        )
    if not units.within_now(unit_code, who.unit):
        raise outside


class ReportJSON(JSONResponse):
    """A report is JSON as it comes (dates as ISO text), so it is answered as it is: FastAPI's jsonable_encoder would
    walk every value again (1.6 s for the nation's 60,000 outstanding rows), and orjson writes the bytes
    Starlette's `json.dumps` would (compact, UTF-8 as is), several times faster (tests/unit/test_report_json.py)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


@router.get("/reports/quota-progress", summary="Quota, achieved and ratio per child unit and in total")
async def quota_progress(who: CurrentPrincipal, request: Request, year: Year, unit_code: str | None = None) -> Response:
    hierarchy = hierarchy_of(date(year, 1, 1), date(year, 12, 31))
    async with reports_for(request, who, unit_code or who.unit, hierarchy) as reports:
        report = await reports.quota_progress(year, unit_code or who.unit, hierarchy)
    return ReportJSON(report)


@router.get("/reports/post-rehab-coverage", summary="Completers, covered, ratio, and the uncovered with days waiting")
async def coverage(
    who: CurrentPrincipal,
    request: Request,
    unit_code: str | None = None,
    as_of: date | None = None,
    period: str | None = None,
) -> Response:
    span = parse_period(period, as_of or (None if period else today()))
    async with reports_for(request, who, unit_code or who.unit, hierarchy_of(span.start, span.end)) as reports:
        report = await reports.coverage(unit_code or who.unit, span)
    return ReportJSON(report)


@router.get("/reports/indicators", summary="Every indicator with its target and status")
async def indicators(
    who: CurrentPrincipal,
    request: Request,
    unit_code: str | None = None,
    period: str | None = None,
    as_of: date | None = None,
) -> Response:
    span = parse_period(period, as_of or (None if period else today()))
    async with reports_for(request, who, unit_code or who.unit, hierarchy_of(span.start, span.end)) as reports:
        report = await reports.indicators(unit_code or who.unit, span)
    return ReportJSON(report)


@router.get("/reports/outstanding", summary="Absconders at large and completers awaiting a post-rehab decision")
async def outstanding(
    who: CurrentPrincipal, request: Request, unit_code: str | None = None, as_of: date | None = None
) -> Response:
    on = report_day(as_of or today())
    async with reports_for(request, who, unit_code or who.unit, hierarchy_of(on, on)) as reports:
        report = await reports.outstanding(unit_code or who.unit, on)
    return ReportJSON(report)


@router.get("/reports/periodic", summary="The 6-month or annual report as JSON, CSV or XLSX (Vietnamese headings)")
async def periodic(
    who: CurrentPrincipal,
    request: Request,
    period: str,
    unit_code: str | None = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Response:
    unit = unit_code or who.unit
    span = parse_period(period)
    async with reports_for(request, who, unit, hierarchy_of(span.start, span.end)) as reports:
        report = await reports.periodic(unit, span)
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
    return ReportJSON(report)


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
