"""Kế hoạch: a unit's quotas and targets for a year and those it gives its units, entered and revised in one table.

Each row is a plan of its own at the quotas service (a new version when revised, with its document); the hierarchy
check there refuses children's quotas that exceed their parent's, and its message is shown on the row it concerns.
"""

from __future__ import annotations

import math
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
# the plans' targets a table edits (as the seeds set them): the shares in per cent, the count as it is
TARGETS = (
    "post_rehab_management_coverage",
    "share_of_recorded_users_reaching_services",
    "methadone_patients_maintained",
)
PERCENT = frozenset({"post_rehab_management_coverage", "share_of_recorded_users_reaching_services"})
CELL = re.compile(r"^([qt]):([0-9]{2,5}|VN):([a-z_]+)$")


@router.get("/ke-hoach")
async def plans(ctx: Page, year: int = 0, unit: str = "") -> Response:
    year = year if 2000 <= year <= 2100 else today().year
    unit = unit or ctx.session.unit
    view = await ctx.get_or_none("quotas", f"/plans/{year}", unit_code=unit)
    return await _page(ctx, 200, year, unit, view, {}, {}, "")  # a revision names its own document


@router.post("/ke-hoach")
async def save(ctx: Posted) -> Response:
    form = {k: str(v) for k, v in (await ctx.request.form()).items() if isinstance(v, str)}
    year, unit = int(form.get("year", today().year)), form.get("unit", ctx.session.unit)
    document = form.get("document_number", "").strip()
    view = await ctx.get_or_none("quotas", f"/plans/{year}", unit_code=unit)
    entered = _entered(form)
    bodies = {code: _body(_plan_of(view, code), entered[code], document) for code in entered}
    todo = sorted((c for c, b in bodies.items() if b is not None), key=lambda c: (c != unit, c))
    errors: dict[str, str] = {}
    for _ in range(2):  # the parent first; a row refused before the others were saved is tried once more
        # (lowering a parent and its children together fits only once the children are down)
        errors = {}
        for code in todo:
            try:
                await ctx.send("PUT", "quotas", f"/plans/{year}/{code}", bodies[code])
            except ApiError as exc:
                if exc.status >= 500:
                    raise
                errors[code] = " ".join(dict.fromkeys([exc.message, *exc.fields.values()]))
        if not errors or len(errors) == len(todo):
            break
        todo = list(errors)
    if errors:
        view = await ctx.get_or_none("quotas", f"/plans/{year}", unit_code=unit)
        return await _page(ctx, 422, year, unit, view, errors, entered, document)
    ctx.flash(ctx.t("plans.saved"))
    return RedirectResponse(f"/ke-hoach?year={year}&unit={unit}", 303)


async def _page(
    ctx: Ctx,
    status: int,
    year: int,
    unit: str,
    view: dict[str, Any] | None,
    errors: dict[str, str],
    entered: dict[str, dict[str, dict[str, float]]],
    document: str,
) -> Response:
    rows = table(ctx, year, unit, view)
    shown = {r["unit_code"]: entered.get(r["unit_code"]) or _cells(r) for r in rows}
    return await ctx.render(
        "plans.html",
        status,
        year=year,
        unit=unit,
        rows=rows,
        cells=shown,
        modalities=MODALITIES,
        targets=TARGETS,
        percent=PERCENT,
        errors=errors,
        document=document,
    )


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


def _entered(form: dict[str, str]) -> dict[str, dict[str, dict[str, float]]]:
    """The table as submitted: per unit, its quotas ("q") and its targets ("t", shares as fractions)."""
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for key, value in form.items():
        m = CELL.match(key)
        if m is None:
            continue
        kind, code, name = m.groups()
        row = rows.setdefault(code, {"q": {}, "t": {}})
        number = _number(value)
        if number is not None and ((kind == "q" and name in MODALITIES) or (kind == "t" and name in TARGETS)):
            row[kind][name] = number / 100 if kind == "t" and name in PERCENT else number
    return rows


def _number(value: str) -> float | None:
    try:
        return float(value.strip().replace(",", ".")) if value.strip() else None
    except ValueError:
        return None


def _plan_of(view: dict[str, Any] | None, code: str) -> dict[str, Any] | None:
    plans = [(view or {}).get("plan") or {}, *(view or {}).get("children", [])]
    return next((p for p in plans if p.get("unit_code") == code), None)


def _cells(plan: dict[str, Any]) -> dict[str, dict[str, float]]:
    targets = {t["indicator"]: t["value"] for t in plan.get("targets") or [] if t["indicator"] in TARGETS}
    return {"q": dict(plan.get("quotas") or {}), "t": targets}


def _body(plan: dict[str, Any] | None, row: dict[str, dict[str, float]], document: str) -> dict[str, Any] | None:
    """The plan to PUT for a row, or None when the row says what the plan already does (nothing to revise)."""
    now = _cells(plan or {})
    quotas = {m: int(v) for m, v in row["q"].items()}
    if plan is None and not any(quotas.values()) and not row["t"]:
        return None
    same_quotas = {k: v for k, v in now["q"].items() if v} == {k: v for k, v in quotas.items() if v}
    same_targets = now["t"].keys() == row["t"].keys() and all(
        math.isclose(now["t"][k], row["t"][k], rel_tol=1e-9) for k in row["t"]
    )
    if plan is not None and same_quotas and same_targets:
        return None
    kept = [t for t in (plan or {}).get("targets") or [] if t["indicator"] not in TARGETS]
    comparison = {t["indicator"]: t["comparison"] for t in (plan or {}).get("targets") or []}
    edited = [{"indicator": k, "comparison": comparison.get(k, ">="), "value": v} for k, v in sorted(row["t"].items())]
    return {"quotas": quotas, "targets": kept + edited, "document_number": document}
