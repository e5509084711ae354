"""The cases service's facts: one stream per treatment episode. Pseudonymous: a person id, never a name.

Typed text (a facility, a reason, a mentor's name) is not in any payload since schema v2: it is an event note kept
in this service's database (shared/kernel/notes.py), and the event says only that it exists. The v1 upcasters drop it.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from services.cases.domain.rules import Modality
from shared.kernel.events import Event, EventRegistry, JsonDict

CASE_EVENTS = EventRegistry()
DEATH_REASON = "person died (recorded in the registry)"  # what v1 termination events said for a death


@CASE_EVENTS.register
class CaseEnrolled(Event):
    """A person began a treatment episode by decision (court decision for compulsory rehab)."""

    event_type = "case_enrolled"
    schema_version = 3  # v2: the facility's name is a note; v3: which course of rehab this is

    person_id: str
    modality: Modality
    decision_number: str
    decided_on: date
    started_on: date
    planned_months: int | None
    court_decision_number: str | None
    sex: str | None
    birth_year: int | None
    course_number: int | None = None  # 1 for a first course of rehab, 2+ after earlier ones; None: not counted


@CASE_EVENTS.upcaster("case_enrolled", 2)
def _enrolled_before_courses_were_counted(payload: JsonDict) -> JsonDict:
    return {**payload, "course_number": None}


@CASE_EVENTS.upcaster("case_enrolled", 1)
def _enrolled_without_facility(payload: JsonDict) -> JsonDict:
    return {k: v for k, v in payload.items() if k != "facility"}


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
    schema_version = 2  # v2: the reason is a note; the event says whether one was given

    reason_given: bool


@CASE_EVENTS.upcaster("case_dropped_out", 1)
def _dropout_without_reason(payload: JsonDict) -> JsonDict:
    rest = {k: v for k, v in payload.items() if k != "reason"}
    return {**rest, "reason_given": bool(payload.get("reason"))}


@CASE_EVENTS.register
class CaseTerminated(Event):
    """The episode was ended by decision before completion (transfer to prison, illness, death...)."""

    event_type = "case_terminated"
    schema_version = 2  # v2: the decision's reason is a note; `cause` is the code consumers need

    cause: Literal["decision", "death"]


@CASE_EVENTS.upcaster("case_terminated", 1)
def _termination_without_reason(payload: JsonDict) -> JsonDict:
    rest = {k: v for k, v in payload.items() if k != "reason"}
    return {**rest, "cause": "death" if payload.get("reason") == DEATH_REASON else "decision"}


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
    schema_version = 2  # v2: the mentor is a named person, so the name is a note

    decision_number: str
    decided_on: date
    starts_on: date
    months: int
    ends_on: date
    mentor_named: bool
    days_waited: int


@CASE_EVENTS.upcaster("post_rehab_started", 1)
def _post_rehab_without_mentor(payload: JsonDict) -> JsonDict:
    rest = {k: v for k, v in payload.items() if k != "mentor"}
    return {**rest, "mentor_named": bool(payload.get("mentor"))}


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


# --- the duties of Law 73/2021 and Law 120/2025 (issue 16 item 7): facts about the case, no person's text ---


@CASE_EVENTS.register
class DrugTestRecorded(Event):
    """A drug test of the person (Law 73/2021 Art. 22(1)); the facility that ran it is a note."""

    event_type = "drug_test_recorded"

    tested_on: date
    result: Literal["positive", "negative"]
    during: Literal["treatment", "post_rehab"]
    facility_named: bool


@CASE_EVENTS.register
class RelapseRuledOut(Event):
    """After a positive test during post-rehab management, the commune found no relapse into addiction; the
    management goes on. The reason is a note."""

    event_type = "relapse_ruled_out"

    tested_on: date  # the positive test this answers
    reason_given: bool


@CASE_EVENTS.register
class MoveNoticeSent(Event):
    """The sending commune police notified the receiving commune of a managed person's move."""

    event_type = "move_notice_sent"

    move: int  # the stream version of the case_transferred event of that move
    moved_on: date
    from_commune: str
    to_commune: str


@CASE_EVENTS.register
class MoveReported(Event):
    """The managed person reported to the commune of their new residence."""

    event_type = "move_reported"

    move: int
    moved_on: date


@CASE_EVENTS.register
class ElectronicMonitoringOrdered(Event):
    """The commune police chief ordered electronic monitoring (Law 120/2025 Art. 12, unverified); the envelope's
    actor is who ordered it."""

    event_type = "electronic_monitoring_ordered"

    ordered_on: date
    starts_on: date
    ends_on: date


@CASE_EVENTS.register
class ElectronicMonitoringEnded(Event):
    """An electronic monitoring order was ended before its term."""

    event_type = "electronic_monitoring_ended"

    order: int  # the stream version of its electronic_monitoring_ordered event
