"""Composition of the reporting service."""

from __future__ import annotations

from services.reporting.api import SUBSCRIPTION, compose, router
from services.reporting.apply import on_event
from services.reporting.facts import MIGRATIONS, ensure_live_generation
from services.reporting.gauges import run_gauges
from services.reporting.rebuild import abandon_interrupted
from services.topology import ALL_TOPICS
from shared.kernel.subscriber import Subscription
from shared.runtime.service import Runtime, ServiceSpec


async def prepare(rt: Runtime) -> None:
    """Before consuming: the live generation's tables exist and no half-built rebuild is left over."""
    async with rt.engine.begin() as conn:
        await ensure_live_generation(conn)
    await abandon_interrupted(rt.engine)


def spec() -> ServiceSpec:
    """Everything the reporting service is made of."""
    return ServiceSpec(
        name="reporting",
        title="Reporting: indicators and periodic reports",
        description="Projections of every topic: quota progress, post-rehab coverage, access, methadone, overdue.",
        migrations=MIGRATIONS,
        routers=[router],
        subscriptions=[
            Subscription(
                SUBSCRIPTION,
                ALL_TOPICS,
                on_event,
                "Every event of the registry, cases and quotas folded into the report facts.",
            )
        ],
        startup=[prepare],
        compose=compose,
        background=[run_gauges],
    )
