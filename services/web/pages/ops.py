"""Vận hành (the ops role): each service's readiness, the reports' lag per partition, a rebuild with its progress."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, RedirectResponse, Response

from services.web.backend import ApiError
from services.web.context import Page, Posted, Refused

router = APIRouter(include_in_schema=False)
SERVICES = ("registry", "cases", "quotas", "reporting")
OPERATORS = {"ops", "admin"}


@router.get("/van-hanh")
async def operations(ctx: Page) -> Response:
    if ctx.session.role not in OPERATORS:
        raise Refused("ops")
    health = await asyncio.gather(*(ctx.web.backend.health(s) for s in SERVICES))
    # a service that is down is shown as such: the page that says so must not fail with it
    projections, *dead = await asyncio.gather(
        _soft(ctx.get("reporting", "/projections/status")), *(_soft(ctx.get(s, "/dead-letters")) for s in SERVICES)
    )
    return await ctx.render(
        "ops.html",
        health=list(zip(SERVICES, health, strict=True)),
        projections=projections,
        dead=list(zip(SERVICES, dead, strict=True)),
        may_rebuild=ctx.session.role == "ops",  # the reporting service rebuilds for the ops role alone
    )


async def _soft(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except ApiError:
        return None


@router.get("/van-hanh/trang-thai")
async def progress(ctx: Page) -> JSONResponse:
    if ctx.session.role not in OPERATORS:
        raise Refused("ops")
    status = await ctx.get("reporting", "/projections/status")
    lag = sum(p.get("lag") or 0 for p in status.get("partitions", []))
    return JSONResponse({"state": status.get("state"), "progress": status.get("rebuild_progress"), "lag": lag})


@router.post("/van-hanh/dung-lai")
async def rebuild(ctx: Posted) -> Response:
    if ctx.session.role not in OPERATORS:
        raise Refused("ops")
    await ctx.send("POST", "reporting", "/projections/rebuild", {})
    ctx.flash(ctx.t("ops.rebuilding"))
    return RedirectResponse("/van-hanh", 303)


@router.post("/van-hanh/{service}/xu-ly-lai")
async def replay(service: str, ctx: Posted) -> Response:
    """Apply again what a service's consumers parked (after the fix that makes them succeed)."""
    if ctx.session.role not in OPERATORS or service not in SERVICES:
        raise Refused("ops")
    done = await ctx.send("POST", service, "/dead-letters/replay", {})
    ctx.flash(ctx.t("ops.replayed", service=service, reapplied=done["reapplied"], failed=done["failed_again"]))
    return RedirectResponse("/van-hanh", 303)
