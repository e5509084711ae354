"""Prometheus gauges per unit (coverage, quota attainment, outstanding) refreshed from the projections."""

from __future__ import annotations

import asyncio
import logging
import time

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
REFRESH = Gauge(
    "rehab_report_gauges_refresh_seconds", "How long the last pass over the per-unit gauges took, its rests included"
)
REFRESH_SECONDS = 60
SHARE = 0.2  # of the process's time the gauges may take: at national scale a pass over 3,355 units takes minutes


async def refresh(rt: Runtime, share: float = 1.0) -> None:
    """Set the gauges for every unit that has a plan this year, one unit per transaction.

    One transaction per unit: a pass over every unit of the country holds the swap lock (which a rebuild's swap
    waits for) for one unit's reports at a time, not for minutes. After each unit the pass rests so that it takes
    at most `share` of the process's time at any moment, not only on average: the reports officials wait for and
    the live fold run in the same event loop, and a pass at full speed held both up for its whole length.
    """
    on = today()
    async with rt.engine.connect() as conn:
        f = await current(conn)
        GENERATION.set(f.generation)
        planned = list(await Reports(conn, f, rt.units).figures.plans_of(on.year))
    for unit in planned:
        started = time.monotonic()
        async with rt.engine.begin() as conn:
            await hold(conn, SWAP_LOCK)
            reports = Reports(conn, await current(conn), rt.units)
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
        if share < 1:
            await asyncio.sleep((time.monotonic() - started) * (1 - share) / share)


async def run_gauges(rt: Runtime) -> None:
    """Refresh the gauges every minute, or as often as a pass paced to SHARE of the process's time allows (at the
    national scale a pass over 3,355 units takes minutes); a pass's length, rests included, is a gauge."""
    while True:
        started = time.monotonic()
        try:
            await refresh(rt, SHARE)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not refresh the report gauges; retrying")
        spent = time.monotonic() - started
        REFRESH.set(spent)
        await asyncio.sleep(max(REFRESH_SECONDS - spent, 1.0))
