"""Composition of the quotas service."""

from __future__ import annotations

from shared.kafka import QUOTAS_TOPIC
from shared.service import ServiceSpec


def spec() -> ServiceSpec:
    """Everything the quotas service is made of."""
    return ServiceSpec(
        name="quotas",
        title="Quotas: plans per unit",
        description="Yearly quotas per unit and modality, indicator targets and revisions.",
        topic=QUOTAS_TOPIC,
    )
