"""The Case aggregate: one treatment episode of one person, as an explicit state machine.

Every command checks the transition, the dates and the law's durations, and either returns the events to
append or raises a RuleViolation whose message an official can act on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from services.cases.domain import refusals as no
from services.cases.domain.events import (
    DEATH_REASON,
    CaseAbsconded,
    CaseCompleted,
    CaseDroppedOut,
    CaseEnrolled,
    CaseReturned,
    CaseTerminated,
    CaseTransferred,
    PostRehabEnded,
    PostRehabStarted,
    RelapseRecorded,
)
from services.cases.domain.rules import Course, Modality, RuleBook
from shared.kernel.events import Event, PendingEvent
from shared.vn.rulebook import add_months
from shared.vn.rulebook import planned_end as end_of_course

State = Literal[
    "active", "absconded", "completed", "post_rehab", "post_rehab_ended", "dropped_out", "terminated", "relapsed"
]
OPEN_STATES: frozenset[str] = frozenset({"active", "absconded", "completed", "post_rehab"})
RESIDENTIAL: frozenset[str] = frozenset({"compulsory", "voluntary_facility"})


@dataclass(frozen=True)
class PersonFacts:
    """What the cases service knows of a person, from the registry's events."""

    person_id: str
    commune_code: str
    status: str
    sex: str | None
    birth_year: int | None
    on_record: bool = True
    unit_on: date | None = None  # the legal date the registry recorded the commune code


@dataclass
class Case:
    """State rebuilt from a case's events."""

    case_id: str
    version: int = 0
    person_id: str = ""
    commune_code: str = ""
    modality: Modality = "voluntary_community"
    state: State = "active"
    decided_on: date | None = None
    started_on: date | None = None
    planned_months: int | None = None
    birth_year: int | None = None
    course: Course = "first"
    absconded_on: date | None = None
    absconded_days: int = 0
    completed_on: date | None = None
    post_rehab_starts_on: date | None = None
    post_rehab_ends_on: date | None = None
    closed_on: date | None = None
    last_on: date = date.min
    history: list[tuple[str, date]] = field(default_factory=list)

    @classmethod
    def from_history(cls, case_id: str, events: Iterable[tuple[Event, date, str]]) -> Case:
        case = cls(case_id)
        for event, occurred_on, unit_code in events:
            case.apply(event, occurred_on, unit_code)
        return case

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def planned_end(self) -> date | None:
        """Planned end of treatment, pushed back by the days spent absconded (shared/vn/rulebook.planned_end)."""
        if self.started_on is None or self.planned_months is None:
            return None
        return end_of_course(self.started_on, self.planned_months, self.absconded_days)

    def apply(self, event: Event, occurred_on: date, unit_code: str) -> None:
        """Evolve the state by one event (events are facts: never refused here)."""
        self.version += 1
        self.last_on = max(self.last_on, occurred_on)
        self.commune_code = unit_code
        self.history.append((type(event).event_type, occurred_on))
        match event:
            case CaseEnrolled():
                self.person_id, self.modality, self.state = event.person_id, event.modality, "active"
                self.decided_on, self.started_on = event.decided_on, event.started_on
                self.planned_months, self.birth_year = event.planned_months, event.birth_year
                self.course = "repeat" if (event.course_number or 1) > 1 else "first"
            case CaseAbsconded():
                self.state, self.absconded_on = "absconded", occurred_on
            case CaseReturned():
                self.state, self.absconded_on = "active", None
                self.absconded_days += event.absconded_days
            case CaseCompleted():
                self.state, self.completed_on = "completed", occurred_on
            case PostRehabStarted():
                self.state, self.post_rehab_starts_on, self.post_rehab_ends_on = (
                    "post_rehab",
                    event.starts_on,
                    event.ends_on,
                )
            case PostRehabEnded():
                self.state, self.closed_on = "post_rehab_ended", occurred_on
            case CaseDroppedOut():
                self.state, self.closed_on = "dropped_out", occurred_on
            case CaseTerminated():
                self.state, self.closed_on = "terminated", occurred_on
            case RelapseRecorded():
                self.state, self.closed_on = "relapsed", occurred_on
            case CaseTransferred():
                pass

    # --- decisions -------------------------------------------------------------------------------------------

    @staticmethod
    def enroll(
        person: PersonFacts | None,
        person_id: str,
        modality: Modality,
        decision_number: str,
        decided_on: date,
        started_on: date,
        planned_months: int | None,
        facility: str | None,
        court_decision_number: str | None,
        rules: RuleBook,
        today: date,
        earlier_courses: int = 0,
    ) -> list[PendingEvent]:
        """Open a treatment episode; `earlier_courses` counts the person's earlier courses of rehab."""
        if person is None:
            raise no.unknown_person(person_id)
        if not person.on_record:
            raise no.person_closed(person_id)
        no.not_future("decided_on", decided_on, today)
        no.not_future("started_on", started_on, today)
        if started_on < decided_on:
            raise no.out_of_order("started_on", started_on, "decided_on", decided_on)
        if modality != "methadone" and person.status != "addict":
            raise no.not_determined(person_id)
        if modality == "compulsory" and not court_decision_number:
            raise no.court_decision_required()
        ruleset = rules.on(decided_on)
        if person.birth_year is not None and started_on.year - person.birth_year < ruleset.minimum_age:
            raise no.too_young(ruleset.minimum_age)
        group = ruleset.age_group(person.birth_year, started_on) if person.birth_year else "adult"
        course_number = None if modality == "methadone" else earlier_courses + 1
        bounds = ruleset.duration(modality, group, "repeat" if earlier_courses else "first")
        if bounds is not None and (planned_months is None or not bounds[0] <= planned_months <= bounds[1]):
            raise no.duration_out_of_range(modality, group, bounds, planned_months, ruleset.valid_from)
        event = CaseEnrolled(
            person_id=person_id,
            modality=modality,
            decision_number=decision_number,
            decided_on=decided_on,
            started_on=started_on,
            planned_months=planned_months if bounds is not None else None,
            court_decision_number=court_decision_number,
            sex=person.sex,
            birth_year=person.birth_year,
            course_number=course_number,
        )
        notes = {"facility": facility} if facility else {}  # typed text stays in this service
        return [PendingEvent(event=event, occurred_on=started_on, unit_code=person.commune_code, notes=notes)]

    def abscond(self, absconded_on: date, today: date) -> list[PendingEvent]:
        self._may("abscond", absconded_on, today, "absconded_on")
        if self.modality not in RESIDENTIAL:
            raise no.cannot_abscond(self.modality)
        return self._event(CaseAbsconded(), absconded_on)

    def return_(self, returned_on: date, today: date) -> list[PendingEvent]:
        self._may("return", returned_on, today, "returned_on")
        assert self.absconded_on is not None
        return self._event(CaseReturned(absconded_days=(returned_on - self.absconded_on).days), returned_on)

    def drop_out(self, dropped_on: date, reason: str, today: date) -> list[PendingEvent]:
        self._may("drop_out", dropped_on, today, "dropped_on")
        if self.modality == "compulsory":
            raise no.compulsory_cannot_drop_out()
        return self._event(CaseDroppedOut(reason_given=bool(reason)), dropped_on, {"reason": reason})

    def terminate(self, terminated_on: date, reason: str, today: date) -> list[PendingEvent]:
        self._may("terminate", terminated_on, today, "terminated_on")
        return self._event(CaseTerminated(cause="decision"), terminated_on, {"reason": reason})

    def complete(self, completed_on: date, certificate_number: str, rules: RuleBook, today: date) -> list[PendingEvent]:
        self._may("complete", completed_on, today, "completed_on")
        assert self.started_on is not None and self.decided_on is not None
        ruleset = rules.on(self.decided_on)
        group = ruleset.age_group(self.birth_year, self.started_on) if self.birth_year else "adult"
        bounds = ruleset.duration(self.modality, group, self.course)
        if bounds is not None:
            earliest = end_of_course(self.started_on, bounds[0], self.absconded_days)
            if completed_on < earliest:
                raise no.too_early(completed_on, earliest, bounds[0], self.absconded_days)
        served = (completed_on - self.started_on).days - self.absconded_days
        return self._event(CaseCompleted(certificate_number=certificate_number, served_days=served), completed_on)

    def start_post_rehab(
        self,
        decision_number: str,
        decided_on: date,
        starts_on: date,
        months: int | None,
        mentor: str,
        rules: RuleBook,
        today: date,
    ) -> list[PendingEvent]:
        self._may("start_post_rehab", decided_on, today, "decided_on")
        assert self.completed_on is not None and self.started_on is not None
        no.not_future("starts_on", starts_on, today + timedelta(days=366))
        if starts_on < self.completed_on:
            raise no.out_of_order("starts_on", starts_on, "completed_on", self.completed_on)
        ruleset = rules.on(decided_on)
        group = ruleset.age_group(self.birth_year, self.started_on) if self.birth_year else "adult"
        legal = ruleset.post_rehab(self.modality, group)
        if months is not None and months != legal:
            raise no.post_rehab_length(self.modality, legal, months, ruleset.valid_from)
        event = PostRehabStarted(
            decision_number=decision_number,
            decided_on=decided_on,
            starts_on=starts_on,
            months=legal,
            ends_on=add_months(starts_on, legal),
            mentor_named=True,
            days_waited=(decided_on - self.completed_on).days,
        )
        return self._event(event, decided_on, {"mentor": mentor})  # a named person: a note, never published

    def end_post_rehab(self, ended_on: date, certificate_number: str, today: date) -> list[PendingEvent]:
        self._may("end_post_rehab", ended_on, today, "ended_on")
        return self._event(PostRehabEnded(certificate_number=certificate_number), ended_on)

    def record_relapse(self, detected_on: date, today: date) -> list[PendingEvent]:
        self._may("relapse", detected_on, today, "detected_on")
        return self._event(RelapseRecorded(), detected_on)

    def transfer(self, to_commune: str, moved_on: date) -> list[PendingEvent]:
        """Follow the person to another commune; closed cases stay where they were."""
        if not self.is_open or to_commune == self.commune_code:
            return []
        event = CaseTransferred(from_commune=self.commune_code, to_commune=to_commune)
        return [PendingEvent(event=event, occurred_on=max(moved_on, self.last_on), unit_code=to_commune)]

    def close_on_death(self, died_on: date) -> list[PendingEvent]:
        """The person died: an open case is terminated on the date of death (or its last step, if later)."""
        if not self.is_open:
            return []
        on = max(died_on, self.last_on)
        return self._event(CaseTerminated(cause="death"), on, {"reason": DEATH_REASON})

    def _may(self, action: str, on: date, today: date, field_name: str) -> None:
        if self.version == 0:
            raise no.unknown_case(self.case_id)
        if self.state not in ALLOWED[action]:
            raise no.bad_transition(action, self.state, self.absconded_on)
        no.not_future(field_name, on, today)
        if on < self.last_on:
            raise no.before_last_event(field_name, on, self.last_on, self.history[-1][0])

    def _event(self, event: Event, on: date, notes: dict[str, str] | None = None) -> list[PendingEvent]:
        return [PendingEvent(event=event, occurred_on=on, unit_code=self.commune_code, notes=notes or {})]


ALLOWED: dict[str, frozenset[str]] = {
    "abscond": frozenset({"active"}),
    "return": frozenset({"absconded"}),
    "drop_out": frozenset({"active", "absconded"}),
    "terminate": frozenset({"active", "absconded"}),  # a death closes any open state: see close_on_death
    "complete": frozenset({"active"}),
    "start_post_rehab": frozenset({"completed"}),
    "end_post_rehab": frozenset({"post_rehab"}),
    "relapse": frozenset({"completed", "post_rehab"}),
}
