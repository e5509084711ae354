"""Composition of the reporting service."""

from __future__ import annotations

from services.reporting.api import SUBSCRIPTION, compose, router
from services.reporting.apply import on_event, on_events
from services.reporting.cycle import Submissions
from services.reporting.cycle_api import router as cycle_router
from services.reporting.domain.events import REPORT_EVENTS
from services.reporting.facts import MIGRATIONS, ensure_live_generation
from services.reporting.gauges import run_gauges
from services.reporting.rebuild import abandon_interrupted
from services.topology import ALL_TOPICS, REPORTS_TOPIC
from shared.kernel.eventstore import EventStore
from shared.kernel.subscriber import Subscription
from shared.runtime.service import Runtime, ServiceSpec
from shared.vn.units import admin_units


async def prepare(rt: Runtime) -> None:
    """Before consuming: the live generation's tables exist and no half-built rebuild is left over."""
    async with rt.engine.begin() as conn:
        await ensure_live_generation(conn)
    await abandon_interrupted(rt.engine)


def spec() -> ServiceSpec:
    """Everything the reporting service is made of."""
    return ServiceSpec(
        name="reporting",
        title="Reporting: indicators, periodic reports and the report cycle",
        description="Projections of every topic: quota progress, post-rehab coverage, access, methadone, overdue; "
        "the periodic report submitted by a commune, reviewed and approved by its province, reproducible exactly.",
        topic=REPORTS_TOPIC,
        migrations=MIGRATIONS,
        routers=[router, cycle_router],
        events=REPORT_EVENTS,
        services={"submissions": Submissions(EventStore(REPORTS_TOPIC), admin_units())},
        subscriptions=[
            Subscription(
                SUBSCRIPTION,
                ALL_TOPICS,
                on_event,
                "Every event of the registry, cases and quotas folded into the report facts.",
                batch_handler=on_events,
            )
        ],
        startup=[prepare],
        compose=compose,
        background=[run_gauges],
    )
