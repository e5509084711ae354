"""Prometheus gauges per unit (coverage, quota attainment, outstanding) refreshed from the projections."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Gauge

from services.reporting.apply import SWAP_LOCK, hold
from services.reporting.facts import current
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
REFRESH_SECONDS = 60


async def refresh(rt: Runtime) -> None:
    """Set the gauges for every unit that has a plan this year."""
    on = today()
    async with rt.engine.begin() as conn:
        await hold(conn, SWAP_LOCK)
        f = await current(conn)
        GENERATION.set(f.generation)
        reports = Reports(conn, f, rt.units)
        for unit in await reports.figures.plans_of(on.year):
            coverage = await reports.coverage(unit, parse_period(None, on))
            COVERAGE.labels(unit).set(coverage["ratio"] if coverage["ratio"] is not None else 1.0)
            outstanding = await reports.outstanding(unit, on)
            waiting = outstanding["awaiting_post_rehab_decision"]
            AWAITING.labels(unit).set(len(waiting))
            OVERDUE.labels(unit).set(max((w["days_overdue"] for w in waiting), default=0))
            progress = await reports.quota_progress(on.year, unit)
            for modality, ratio in progress["total"]["ratio"].items():
                if ratio is not None:
                    ATTAINMENT.labels(unit, modality).set(ratio)


async def run_gauges(rt: Runtime) -> None:
    while True:
        try:
            await refresh(rt)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not refresh the report gauges; retrying")
        await asyncio.sleep(REFRESH_SECONDS)
