"""Kế hoạch: a unit's quotas for a year and those it gives its units, entered and revised in one table.

Each row is a plan of its own at the quotas service (a new version when revised, with its document); the hierarchy
check there refuses children's quotas that exceed their parent's, and its message is shown on the row it concerns.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from services.web.backend import ApiError
from services.web.context import Ctx, Page, Posted
from shared.kernel.clock import today
from shared.vn.units import edition_for

router = APIRouter(include_in_schema=False)
MODALITIES = ("compulsory", "voluntary_community", "voluntary_facility", "methadone")
CELL = re.compile(r"^q:([0-9]{2,5}|VN):([a-z_]+)$")


@router.get("/ke-hoach")
async def plans(ctx: Page, year: int = 0, unit: str = "") -> Response:
    year = year if 2000 <= year <= 2100 else today().year
    unit = unit or ctx.session.unit
    view = await ctx.get_or_none("quotas", f"/plans/{year}", unit_code=unit)
    return await ctx.render(
        "plans.html",
        year=year,
        unit=unit,
        rows=table(ctx, year, unit, view),
        modalities=MODALITIES,
        errors={},
        values={},
        document=((view or {}).get("plan") or {}).get("document_number", ""),
    )


@router.post("/ke-hoach")
async def save(ctx: Posted) -> Response:
    form = {k: str(v) for k, v in (await ctx.request.form()).items() if isinstance(v, str)}
    year, unit = int(form.get("year", today().year)), form.get("unit", ctx.session.unit)
    document = form.get("document_number", "").strip()
    view = await ctx.get_or_none("quotas", f"/plans/{year}", unit_code=unit)
    rows = _rows(form)
    errors: dict[str, str] = {}
    for code in sorted(rows, key=lambda c: (c != unit, c)):  # the parent first: its children fit under it
        if not _changed(view, code, rows[code]):
            continue
        try:
            await ctx.send(
                "PUT", "quotas", f"/plans/{year}/{code}", {"quotas": rows[code], "document_number": document}
            )
        except ApiError as exc:
            if exc.status >= 500:
                raise
            errors[code] = " ".join(dict.fromkeys([exc.message, *exc.fields.values()]))
    if errors:
        view = await ctx.get_or_none("quotas", f"/plans/{year}", unit_code=unit)
        return await ctx.render(
            "plans.html",
            422,
            year=year,
            unit=unit,
            rows=table(ctx, year, unit, view),
            modalities=MODALITIES,
            errors=errors,
            values=rows,
            document=document,
        )
    ctx.flash(ctx.t("plans.saved"))
    return RedirectResponse(f"/ke-hoach?year={year}&unit={unit}", 303)


@router.get("/ke-hoach/{year}/{unit}/lich-su")
async def history(year: int, unit: str, ctx: Page) -> Response:
    found = await ctx.get("quotas", f"/plans/{year}/{unit}/history")
    return await ctx.render("plan_history.html", year=year, unit=unit, history=found)


def table(ctx: Ctx, year: int, unit: str, view: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The unit's own row, then a row per unit below it in the year's catalogue, with its plan where it has one."""
    edition = edition_for(date(year, 1, 1))
    empty: dict[str, Any] = {"quotas": {}, "revision": None}
    own = (view or {}).get("plan") or {"unit_code": unit, "unit_name": ctx.unit_name(unit, date(year, 1, 1)), **empty}
    planned = {c["unit_code"]: c for c in (view or {}).get("children", [])}
    below = ctx.web.units.children(unit, edition)
    rows = [own, *(planned.get(u.code) or {"unit_code": u.code, "unit_name": u.name, **empty} for u in below)]
    return rows + [p for code, p in planned.items() if code not in {r["unit_code"] for r in rows}]


def _rows(form: dict[str, str]) -> dict[str, dict[str, int]]:
    rows: dict[str, dict[str, int]] = {}
    for key, value in form.items():
        m = CELL.match(key)
        if m and value.strip().isdigit():
            rows.setdefault(m.group(1), {})[m.group(2)] = int(value.strip())
    return rows


def _changed(view: dict[str, Any] | None, code: str, quotas: dict[str, int]) -> bool:
    if view is None:
        return True
    plans = [view.get("plan") or {}, *view.get("children", [])]
    now = next((p.get("quotas") or {} for p in plans if p.get("unit_code") == code), None)
    return now is None or {k: v for k, v in now.items() if v} != {k: v for k, v in quotas.items() if v}
