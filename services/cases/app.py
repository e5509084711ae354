"""Composition of the cases service."""

from __future__ import annotations

from shared.kafka import CASES_TOPIC
from shared.service import ServiceSpec


def spec() -> ServiceSpec:
    """Everything the cases service is made of."""
    return ServiceSpec(
        name="cases",
        title="Cases: treatment episodes",
        description="Enrolment per modality, abscondment and return, dropout, completion, post-rehab, relapse.",
        topic=CASES_TOPIC,
    )
