"""Composition of the registry service."""

from __future__ import annotations

from services.registry.api import compose, router
from services.registry.domain.events import REGISTRY_EVENTS
from services.registry.tables import MIGRATIONS
from services.topology import REGISTRY_TOPIC
from shared.runtime.service import ServiceSpec


def spec() -> ServiceSpec:
    """Everything the registry service is made of; its services are composed over the runtime, once."""
    return ServiceSpec(
        name="registry",
        title="Registry: people on record",
        description="People on record from police reviews, self-reports and health referrals; sole holder of identity.",
        topic=REGISTRY_TOPIC,
        migrations=MIGRATIONS,
        routers=[router],
        events=REGISTRY_EVENTS,
        compose=compose,
    )
