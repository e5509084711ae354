"""Composition of the cases service."""

from __future__ import annotations

from services.cases.api import router
from services.cases.commands import Cases
from services.cases.directory import DirectoryWait, registry_handler
from services.cases.domain.events import CASE_EVENTS
from services.cases.domain.rules import rulebook
from services.cases.settings import CasesSettings
from services.cases.tables import MIGRATIONS
from services.topology import CASES_TOPIC, REGISTRY_TOPIC
from shared.kernel.clock import today
from shared.kernel.eventstore import EventStore
from shared.kernel.subscriber import Subscription
from shared.runtime.service import ServiceSpec
from shared.vn.units import admin_units


def spec() -> ServiceSpec:
    """Everything the cases service is made of; its application service is built here, once."""
    cases = Cases(EventStore(CASES_TOPIC), admin_units(), rulebook(), clock=today)
    return ServiceSpec(
        name="cases",
        title="Cases: treatment episodes and post-rehab management",
        description="Enrolment per modality, abscondment and return, dropout, completion, post-rehab management, "
        "relapse; drug tests, the notice and report of a managed person's move, electronic monitoring orders; "
        "deadlines officials must meet.",
        topic=CASES_TOPIC,
        migrations=MIGRATIONS,
        routers=[router],
        events=CASE_EVENTS,
        subscriptions=[
            Subscription(
                "cases-directory",
                (REGISTRY_TOPIC,),
                registry_handler(cases),
                "Persons on record (commune, status, sex, birth year); a move carries the open case along.",
            )
        ],
        services={"cases": cases, "directory_wait": DirectoryWait(CasesSettings().read_your_writes_seconds)},
    )
