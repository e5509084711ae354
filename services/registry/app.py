"""Composition of the registry service."""

from __future__ import annotations

from shared.kafka import REGISTRY_TOPIC
from shared.service import ServiceSpec


def spec() -> ServiceSpec:
    """Everything the registry service is made of."""
    return ServiceSpec(
        name="registry",
        title="Registry: people on record",
        description="People on record from police reviews, self-reports and health referrals; sole holder of identity.",
        topic=REGISTRY_TOPIC,
    )
