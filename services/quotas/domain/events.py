"""The quotas service's facts: one stream per plan (year, unit)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.kernel.events import Event, EventRegistry

Comparison = Literal[">=", ">", "==", "<=", "<"]
QUOTA_MODALITIES = ("compulsory", "voluntary_community", "voluntary_facility", "methadone")
PLAN_EVENTS = EventRegistry()


class Target(BaseModel):
    """An indicator target of a plan, e.g. post_rehab_management_coverage == 1.00."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    indicator: str
    comparison: Comparison
    value: float


@PLAN_EVENTS.register
class PlanIssued(Event):
    """A unit's plan for a year was issued by a document: quotas per modality and indicator targets."""

    event_type = "plan_issued"

    year: int
    unit_code: str
    document_number: str
    document_date: date | None
    quotas: dict[str, int]
    targets: list[Target]


@PLAN_EVENTS.register
class PlanRevised(Event):
    """A later document changed the plan; the previous version stays in the history."""

    event_type = "plan_revised"

    revision: int
    document_number: str
    document_date: date | None
    quotas: dict[str, int]
    targets: list[Target]


INDICATORS = (
    "compulsory_rehab_enrolments",
    "voluntary_community_rehab_enrolments",
    "voluntary_facility_rehab_enrolments",
    "methadone_enrolments",
    "post_rehab_management_coverage",
    "share_of_recorded_users_reaching_services",
    "share_of_managed_addicts_not_in_treatment_who_register",
    "methadone_patients_maintained",
    "methadone_patients_at_year_end",
    "absconders_at_large",
    "completers_awaiting_post_rehab_decision",
)
