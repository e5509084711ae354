"""The cases service's facts: one stream per treatment episode. Pseudonymous: a person id, never a name."""

from __future__ import annotations

from datetime import date

from services.cases.domain.rules import Modality
from shared.events import Event, EventRegistry

CASE_EVENTS = EventRegistry()


@CASE_EVENTS.register
class CaseEnrolled(Event):
    """A person began a treatment episode by decision (court decision for compulsory rehab)."""

    event_type = "case_enrolled"

    person_id: str
    modality: Modality
    decision_number: str
    decided_on: date
    started_on: date
    planned_months: int | None
    facility: str | None
    court_decision_number: str | None
    sex: str | None
    birth_year: int | None


@CASE_EVENTS.register
class CaseAbsconded(Event):
    """The resident left the facility without leave; the clock stops until they return."""

    event_type = "case_absconded"


@CASE_EVENTS.register
class CaseReturned(Event):
    """An absconded resident came back (or was brought back); the clock runs again."""

    event_type = "case_returned"

    absconded_days: int


@CASE_EVENTS.register
class CaseDroppedOut(Event):
    """The person left voluntary rehab or methadone treatment."""

    event_type = "case_dropped_out"

    reason: str


@CASE_EVENTS.register
class CaseTerminated(Event):
    """The episode was ended by decision before completion (transfer to prison, illness, death...)."""

    event_type = "case_terminated"

    reason: str


@CASE_EVENTS.register
class CaseCompleted(Event):
    """The treatment was completed and certified; the commune must now decide post-rehab management."""

    event_type = "case_completed"

    certificate_number: str
    served_days: int


@CASE_EVENTS.register
class PostRehabStarted(Event):
    """The commune decided post-rehab management at the place of residence."""

    event_type = "post_rehab_started"

    decision_number: str
    decided_on: date
    starts_on: date
    months: int
    ends_on: date
    mentor: str
    days_waited: int


@CASE_EVENTS.register
class PostRehabEnded(Event):
    """Post-rehab management ended with its certificate."""

    event_type = "post_rehab_ended"

    certificate_number: str


@CASE_EVENTS.register
class RelapseRecorded(Event):
    """The person relapsed after completing treatment; a compulsory dossier follows."""

    event_type = "relapse_recorded"


@CASE_EVENTS.register
class CaseTransferred(Event):
    """The person moved; the open case and its post-rehab management now belong to the new commune."""

    event_type = "case_transferred"

    from_commune: str
    to_commune: str
