"""Composition of the quotas service."""

from __future__ import annotations

from services.quotas.api import router
from services.quotas.commands import Plans
from services.quotas.domain.events import PLAN_EVENTS
from services.quotas.tables import MIGRATIONS
from services.topology import QUOTAS_TOPIC
from shared.kernel.clock import today
from shared.kernel.eventstore import EventStore
from shared.runtime.service import ServiceSpec
from shared.vn.units import admin_units


def spec() -> ServiceSpec:
    """Everything the quotas service is made of; its application service is built here, once."""
    return ServiceSpec(
        name="quotas",
        title="Quotas: plans of every commune, district and province",
        description="Yearly quotas per unit and modality, indicator targets, revisions with their documents, "
        "allocation to child units within the parent's quota.",
        topic=QUOTAS_TOPIC,
        migrations=MIGRATIONS,
        routers=[router],
        events=PLAN_EVENTS,
        services={"plans": Plans(EventStore(QUOTAS_TOPIC), admin_units(), clock=today)},
    )
