"""Composition of the cases service."""

from __future__ import annotations

from services.cases.api import router
from services.cases.directory import on_registry_event
from services.cases.domain.events import CASE_EVENTS
from services.cases.tables import MIGRATIONS
from shared.kafka import CASES_TOPIC, REGISTRY_TOPIC
from shared.service import ServiceSpec
from shared.subscriber import Subscription


def spec() -> ServiceSpec:
    """Everything the cases service is made of."""
    return ServiceSpec(
        name="cases",
        title="Cases: treatment episodes and post-rehab management",
        description="Enrolment per modality, abscondment and return, dropout, completion, post-rehab management, "
        "relapse; deadlines officials must meet.",
        topic=CASES_TOPIC,
        migrations=MIGRATIONS,
        routers=[router],
        events=CASE_EVENTS,
        subscriptions=[
            Subscription(
                "cases-directory",
                (REGISTRY_TOPIC,),
                on_registry_event,
                "Persons on record (commune, status, sex, birth year); a move carries the open case along.",
            )
        ],
    )
