"""The registry's facts. They travel on Kafka, so they carry no name, citizen id, date of birth or village."""

from __future__ import annotations

from datetime import date
from typing import Literal

from shared.kernel.events import Event, EventRegistry, JsonDict

Status = Literal["user", "addict"]
Sex = Literal["male", "female"]
Source = Literal["police_review", "self_report", "health_referral"]
DeterminationResult = Literal["addicted", "not_addicted"]

REGISTRY_EVENTS = EventRegistry()


@REGISTRY_EVENTS.register
class PersonRegistered(Event):
    """A person was put on record in a commune (identity kept apart, in the registry's vault)."""

    event_type = "person_registered"

    commune_code: str
    status: Status
    source: Source
    sex: Sex
    birth_year: int


@REGISTRY_EVENTS.register
class AddictionDetermined(Event):
    """A licensed health facility determined whether the person is drug-dependent.

    v2: the facility's name, typed free text, is an event note kept in the registry (shared/kernel/notes.py); the form
    number is a validated document reference.
    """

    event_type = "addiction_determined"
    schema_version = 2

    result: DeterminationResult
    form_number: str
    status: Status  # the person's status after the determination


@REGISTRY_EVENTS.upcaster("addiction_determined", 1)
def _determination_without_facility(payload: JsonDict) -> JsonDict:
    """v1 carried the facility as typed; v2 keeps it off the bus (the registry reads the v1 text itself)."""
    return {k: v for k, v in payload.items() if k != "facility"}


@REGISTRY_EVENTS.register
class ResidenceChanged(Event):
    """The person moved; management passes to the new commune (the village stays in the vault)."""

    event_type = "residence_changed"

    from_commune: str
    to_commune: str


@REGISTRY_EVENTS.register
class PersonAssignedAfterReorganisation(Event):
    """The person's old commune was split on 2025-07-01; a recorded decision assigns them to one of its successors.

    Management passes to `to_commune` as on a move (the cases service transfers an open case, reports count the
    person there); `from_commune` is the old code the person was registered under, kept for the legal record.
    """

    event_type = "person_assigned_after_reorganisation"

    from_commune: str
    to_commune: str
    decision_number: str


@REGISTRY_EVENTS.register
class RecordsMerged(Event):
    """Two records were found to be one person; the duplicate is closed and the survivor carries on.

    Appended to both streams: on the duplicate's stream it closes the record, on the survivor's it notes the merge.
    """

    event_type = "records_merged"

    survivor_id: str
    duplicate_id: str


@REGISTRY_EVENTS.register
class PersonDied(Event):
    """The person died; the record is closed."""

    event_type = "person_died"

    died_on: date
