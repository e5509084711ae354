"""Trang chủ: where the user's unit stands against its plan for a period, and what is behind."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.web.context import Ctx, current_session, language, web_of
from services.web.pages.periods import choices, valid_period
from services.web.sessions import Session

router = APIRouter(include_in_schema=False)
KEY_INDICATORS = (
    "post_rehab_management_coverage",
    "share_of_recorded_users_reaching_services",
    "share_of_managed_addicts_not_in_treatment_who_register",
    "methadone_patients_maintained",
)


@router.get("/")
async def home(request: Request, unit: str = "", period: str = "", signed_out: int = 0) -> Response:
    session = current_session(request)
    ctx = Ctx(request, web_of(request), session or Session(), language(request))
    if session is None or not session.signed_in:
        return await ctx.render("welcome.html", signed_out=bool(signed_out))
    if session.role == "ops":  # operations read no person and no report: their page is Vận hành
        return RedirectResponse("/van-hanh", 303)
    unit = unit or session.unit
    period = valid_period(period)
    indicators, quotas, coverage = await asyncio.gather(
        ctx.get("reporting", "/reports/indicators", unit_code=unit, period=period),
        ctx.get_or_none("reporting", "/reports/quota-progress", unit_code=unit, year=int(period[:4])),
        ctx.get("reporting", "/reports/post-rehab-coverage", unit_code=unit, period=period),
    )
    by_name = {i["indicator"]: i for i in indicators["indicators"]}
    return await ctx.render(
        "home.html",
        unit=unit,
        period=period,
        periods=choices(),
        report=indicators,
        indicators=indicators["indicators"],
        key=[by_name[k] for k in KEY_INDICATORS if k in by_name],
        quotas=quotas,
        ranked=(rows := ranked(quotas)),
        ranked_rows=[
            (r["unit_name"], r["achieved_total"], r["quota_total"] or None, _status(r["ratio_total"])) for r in rows
        ],
        coverage=coverage,
    )


def ranked(quotas: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The child units, the furthest behind their quota first (a unit with no quota last)."""
    if not quotas:
        return []
    rows = []
    for u in quotas.get("units", []):
        quota = sum(v or 0 for v in u["quota"].values())
        achieved = sum(v or 0 for v in u["achieved"].values())
        ratio = achieved / quota if quota else None
        rows.append({**u, "quota_total": quota, "achieved_total": achieved, "ratio_total": ratio})
    return sorted(rows, key=lambda r: (r["ratio_total"] is None, r["ratio_total"] or 0, r["unit_name"]))


def _status(ratio: float | None) -> str | None:
    return None if ratio is None else ("met" if ratio >= 1 else "behind")
