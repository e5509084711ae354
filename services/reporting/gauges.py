"""Prometheus gauges per unit (coverage, quota attainment, outstanding) refreshed from the projections."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import func, select, text

from services.reporting.apply import SWAP_LOCK, hold
from services.reporting.facts import current
from services.reporting.indicators import Nationwide
from services.reporting.periods import parse_period
from services.reporting.reports import Reports
from shared.kernel.clock import today
from shared.runtime.service import Runtime

log = logging.getLogger("rehab.reporting.gauges")
COVERAGE = Gauge(
    "rehab_post_rehab_coverage_ratio", "Completers this year with a post-rehab decision / completers", ["unit"]
)
AWAITING = Gauge("rehab_completers_awaiting_post_rehab_decision", "Completers without a post-rehab decision", ["unit"])
OVERDUE = Gauge(
    "rehab_completers_overdue_max_days", "Longest wait past the legal deadline for a post-rehab decision", ["unit"]
)
ATTAINMENT = Gauge("rehab_quota_attainment_ratio", "Enrolments this year / the plan's quota", ["unit", "modality"])
GENERATION = Gauge("rehab_projection_generation", "The projection generation reads use")
REFRESH = Gauge("rehab_report_gauges_refresh_seconds", "How long the last pass over the per-unit gauges took")
REFRESH_SECONDS = 60


async def refresh(rt: Runtime, on: date | None = None, since: tuple[Any, ...] | None = None) -> tuple[Any, ...]:
    """Set the gauges for every unit that has a plan this year, from one snapshot of the facts; returns what the
    gauges were computed from (the day, the generation and how many events it has folded). Given that of the last
    pass as `since`, a pass on the same day over the same facts changes nothing, and is skipped after one read.

    Each unit's figures are what its own reports say (coverage, the completers awaiting a decision, quota
    progress), computed by the same code from lists read once for the whole country (`Nationwide`): three
    statements a pass instead of about seven per unit, over 20,000 for the country's 3,355 planned units, that
    held up the reports officials wait for and the live fold in the same process. The pass yields to them after
    every unit; it holds the swap lock (shared, as a report does) for its length, seconds at national scale.
    """
    on = on or today()
    async with rt.engine.begin() as conn:
        await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))  # one snapshot, as a report
        await hold(conn, SWAP_LOCK)
        f = await current(conn)
        GENERATION.set(f.generation)
        folded = await conn.scalar(select(func.coalesce(func.sum(f.topics.c.events), 0)))
        version = (on, f.generation, int(folded or 0))
        if version == since:
            return version
        reports = Reports(conn, f, rt.units, figures=Nationwide)
        with reports.figures.once():  # the plans' version and the plans, read once for the pass
            for unit in list(await reports.figures.plans_of(on.year)):
                coverage = await reports.coverage(unit, parse_period(None, on))
                COVERAGE.labels(unit).set(coverage["ratio"] if coverage["ratio"] is not None else 1.0)
                waiting = await reports.awaiting(unit, on)
                AWAITING.labels(unit).set(len(waiting))
                OVERDUE.labels(unit).set(max((w["days_overdue"] for w in waiting), default=0))
                progress = await reports.quota_progress(on.year, unit)
                for modality, ratio in progress["total"]["ratio"].items():
                    if ratio is not None:
                        ATTAINMENT.labels(unit, modality).set(ratio)
                await asyncio.sleep(0)  # a request or an event waiting for the loop goes first
    return version


async def run_gauges(rt: Runtime) -> None:
    """Refresh the gauges every minute, when a fact has changed since the last pass; a pass's length is a gauge."""
    last: tuple[Any, ...] | None = None
    while True:
        started = time.monotonic()
        try:
            last = await refresh(rt, since=last)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not refresh the report gauges; retrying")
        spent = time.monotonic() - started
        REFRESH.set(spent)
        await asyncio.sleep(max(REFRESH_SECONDS - spent, 1.0))
