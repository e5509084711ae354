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
    DrugTestRecorded,
    ElectronicMonitoringEnded,
    ElectronicMonitoringOrdered,
    MoveNoticeSent,
    MoveReported,
    PostRehabEnded,
    PostRehabStarted,
    RelapseRecorded,
    RelapseRuledOut,
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
AT_HOME: frozenset[str] = frozenset({"voluntary_community", "methadone"})  # treatment where the person lives
TestResult = Literal["positive", "negative"]


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
class Move:
    """A move of a person under post-rehab management, and the duties it brought (`version`: its transfer's)."""

    version: int
    from_commune: str
    to_commune: str
    moved_on: date
    noticed_on: date | None = None
    reported_on: date | None = None


@dataclass
class Monitoring:
    """An electronic monitoring order (`version`: the stream version of the order)."""

    version: int
    ordered_on: date
    starts_on: date
    ends_on: date
    ended_on: date | None = None

    def running_on(self, on: date) -> bool:
        return self.ended_on is None and on <= self.ends_on


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
    positive_test_on: date | None = None  # a positive test during post-rehab management awaiting a decision
    moves: list[Move] = field(default_factory=list)
    monitoring: Monitoring | None = None  # the latest electronic monitoring order

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
                self.state, self.closed_on, self.positive_test_on = "relapsed", occurred_on, None
            case CaseTransferred():
                if self.state == "post_rehab":  # the moves whose duties the law sets (Law 73 Art. 43(2))
                    self.moves.append(Move(self.version, event.from_commune, event.to_commune, occurred_on))
            case DrugTestRecorded():
                if event.result == "positive" and event.during == "post_rehab" and self.positive_test_on is None:
                    self.positive_test_on = event.tested_on
            case RelapseRuledOut():
                self.positive_test_on = None
            case MoveNoticeSent():
                self._moved(event.move).noticed_on = occurred_on
            case MoveReported():
                self._moved(event.move).reported_on = occurred_on
            case ElectronicMonitoringOrdered():
                self.monitoring = Monitoring(self.version, event.ordered_on, event.starts_on, event.ends_on)
            case ElectronicMonitoringEnded():
                if self.monitoring is not None and self.monitoring.version == event.order:
                    self.monitoring.ended_on = occurred_on

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

    def record_drug_test(
        self, tested_on: date, result: TestResult, facility: str | None, today: date
    ) -> list[PendingEvent]:
        """A drug test of a person in treatment or under post-rehab management (Law 73/2021 Art. 22(1)).

        A positive result during post-rehab management does not close the case: the ground for compulsory rehab
        is a relapse into addiction (Law 73/2021 Art. 32(4), "trong thời gian quản lý sau cai nghiện ma túy mà tái
        nghiện"), which a test alone does not establish. The case goes on the work list until the commune records
        the relapse (`record_relapse`) or rules it out (`rule_out_relapse`).
        """
        self._may("drug_test", tested_on, today, "tested_on")
        during = "post_rehab" if self.state == "post_rehab" else "treatment"
        event = DrugTestRecorded(tested_on=tested_on, result=result, during=during, facility_named=bool(facility))
        return self._event(event, tested_on, {"facility": facility} if facility else None)

    def rule_out_relapse(self, decided_on: date, reason: str, today: date) -> list[PendingEvent]:
        self._may("rule_out_relapse", decided_on, today, "decided_on")
        if self.positive_test_on is None:
            raise no.no_positive_test()
        event = RelapseRuledOut(tested_on=self.positive_test_on, reason_given=bool(reason))
        return self._event(event, decided_on, {"reason": reason} if reason else None)

    def move(self, version: int | None) -> Move | None:
        """The move a duty is recorded for: the one whose transfer is stream version `version`, else the latest."""
        if version is None:
            return self.moves[-1] if self.moves else None
        return next((m for m in self.moves if m.version == version), None)

    def _moved(self, version: int) -> Move:
        return next(m for m in self.moves if m.version == version)

    def notify_move(self, version: int | None, noticed_on: date, today: date) -> list[PendingEvent]:
        """The sending commune police notified the receiving commune (dated on or after the move, in any state)."""
        move = self._duty(version, noticed_on, today, "noticed_on")
        if move.noticed_on is not None:
            raise no.already_recorded("notice", move.noticed_on)
        event = MoveNoticeSent(
            move=move.version, moved_on=move.moved_on, from_commune=move.from_commune, to_commune=move.to_commune
        )
        return self._event(event, noticed_on)

    def report_move(self, version: int | None, reported_on: date, today: date) -> list[PendingEvent]:
        """The person reported at the new place of residence."""
        move = self._duty(version, reported_on, today, "reported_on")
        if move.reported_on is not None:
            raise no.already_recorded("report", move.reported_on)
        return self._event(MoveReported(move=move.version, moved_on=move.moved_on), reported_on)

    def order_monitoring(
        self, ordered_on: date, starts_on: date, ends_on: date, rules: RuleBook, today: date
    ) -> list[PendingEvent]:
        """Electronic monitoring by the commune police chief: only where the law in force on `ordered_on` has it,
        for voluntary rehab at home or in the community, substitution therapy or post-rehab management."""
        self._may("order_monitoring", ordered_on, today, "ordered_on")
        ruleset = rules.on(ordered_on)
        if not ruleset.electronic_monitoring:
            raise no.monitoring_not_in_force(ordered_on, ruleset.valid_from)
        if self.state == "active" and self.modality not in AT_HOME:
            raise no.monitoring_not_applicable(self.modality, self.state)
        if starts_on < ordered_on:
            raise no.out_of_order("starts_on", starts_on, "ordered_on", ordered_on)
        if ends_on <= starts_on:
            raise no.out_of_order("ends_on", ends_on, "starts_on", starts_on)
        if self.monitoring is not None and self.monitoring.running_on(ordered_on):
            raise no.monitoring_running(self.monitoring.starts_on, self.monitoring.ends_on)
        event = ElectronicMonitoringOrdered(ordered_on=ordered_on, starts_on=starts_on, ends_on=ends_on)
        return self._event(event, ordered_on)

    def end_monitoring(self, ended_on: date, today: date) -> list[PendingEvent]:
        self._may("end_monitoring", ended_on, today, "ended_on")
        if self.monitoring is None or not self.monitoring.running_on(ended_on):
            raise no.no_monitoring()
        return self._event(ElectronicMonitoringEnded(order=self.monitoring.version), ended_on)

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

    def _duty(self, version: int | None, on: date, today: date, field_name: str) -> Move:
        if self.version == 0:
            raise no.unknown_case(self.case_id)
        move = self.move(version)
        if move is None:
            raise no.unknown_move(version)
        no.not_future(field_name, on, today)
        if on < move.moved_on:
            raise no.out_of_order(field_name, on, "moved_on", move.moved_on)
        return move

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
    "drug_test": frozenset({"active", "post_rehab"}),
    "rule_out_relapse": frozenset({"post_rehab"}),
    "order_monitoring": frozenset({"active", "post_rehab"}),
    "end_monitoring": OPEN_STATES,
}
