"""Báo cáo: the 6-monthly or annual report of any unit in scope, on screen and as XLSX or CSV."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.context import Page
from services.web.pages.periods import choices, valid_period

router = APIRouter(include_in_schema=False)
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}


@router.get("/bao-cao")
async def report(ctx: Page, unit: str = "", period: str = "") -> Response:
    unit, period = unit or ctx.session.unit, valid_period(period)
    found = await ctx.get("reporting", "/reports/periodic", unit_code=unit, period=period, format="json")
    return await ctx.render("report.html", unit=unit, period=period, periods=choices(), report=found)


@router.get("/bao-cao/tai-ve")
async def download(ctx: Page, unit: str = "", period: str = "", format: str = "xlsx") -> Response:
    unit, period = unit or ctx.session.unit, valid_period(period)
    kind = format if format in MEDIA else "xlsx"
    answer = await ctx.web.backend.call(
        ctx.session,
        ctx.lang,
        "GET",
        "reporting",
        "/reports/periodic",
        params={"unit_code": unit, "period": period, "format": kind},
    )
    name = f"bao-cao-{unit}-{period}.{kind}"
    return Response(
        answer.content, media_type=MEDIA[kind], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
