"""Composition of the quotas service."""

from __future__ import annotations

from services.quotas.api import router
from services.quotas.domain.events import PLAN_EVENTS
from services.quotas.tables import MIGRATIONS
from shared.kafka import QUOTAS_TOPIC
from shared.service import ServiceSpec


def spec() -> ServiceSpec:
    """Everything the quotas service is made of."""
    return ServiceSpec(
        name="quotas",
        title="Quotas: plans of every commune, district and province",
        description="Yearly quotas per unit and modality, indicator targets, revisions with their documents, "
        "allocation to child units within the parent's quota.",
        topic=QUOTAS_TOPIC,
        migrations=MIGRATIONS,
        routers=[router],
        events=PLAN_EVENTS,
    )
