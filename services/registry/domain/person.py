"""The Person aggregate: one person on record. It decides which events a command produces; it never persists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.registry.domain.events import (
    AddictionDetermined,
    DeterminationResult,
    PersonAssignedAfterReorganisation,
    PersonDied,
    PersonRegistered,
    RecordsMerged,
    ResidenceChanged,
    Sex,
    Source,
    Status,
)
from services.registry.domain.rules import closed_record, date_in_future
from shared.kernel.events import Event, PendingEvent
from shared.kernel.rules import RuleViolation
from shared.vn.units import REFORM_DATE


@dataclass
class Person:
    """State rebuilt from a person's events: where they are managed, their status, and whether the record is open."""

    person_id: str
    version: int = 0
    commune_code: str = ""
    commune_on: date | None = None  # the legal date the commune code was recorded: which edition it is read in
    status: Status = "user"
    registered_on: date | None = None
    merged_into: str | None = None
    died_on: date | None = None

    @classmethod
    def from_history(cls, person_id: str, history: Iterable[tuple[Event, date]]) -> Person:
        person = cls(person_id)
        for event, occurred_on in history:
            person.apply(event, occurred_on)
        return person

    @property
    def is_open(self) -> bool:
        return self.merged_into is None and self.died_on is None

    def apply(self, event: Event, occurred_on: date) -> None:
        """Evolve the state by one event (never refuses: events are facts)."""
        self.version += 1
        match event:
            case PersonRegistered():
                self.commune_code, self.status, self.registered_on = event.commune_code, event.status, occurred_on
                self.commune_on = occurred_on
            case AddictionDetermined():
                self.status = event.status
            case ResidenceChanged() | PersonAssignedAfterReorganisation():
                self.commune_code, self.commune_on = event.to_commune, occurred_on
            case RecordsMerged() if event.duplicate_id == self.person_id:
                self.merged_into = event.survivor_id
            case PersonDied():
                self.died_on = event.died_on

    # --- decisions -------------------------------------------------------------------------------------------

    @staticmethod
    def register(
        commune_code: str, status: Status, source: Source, sex: Sex, date_of_birth: date, recorded_on: date, today: date
    ) -> list[PendingEvent]:
        """Put a person on record."""
        if recorded_on > today:
            raise date_in_future("recorded_on", "Ngày ghi nhận")
        if date_of_birth > today:
            raise date_in_future("date_of_birth", "Ngày sinh")
        if date_of_birth > recorded_on:
            raise RuleViolation(
                "born_after_record",
                "date_of_birth is after recorded_on; check both dates",
                "ngày sinh sau ngày ghi nhận; hãy kiểm tra lại hai ngày này",
                kind="invalid",
                field="date_of_birth",
            )
        event = PersonRegistered(
            commune_code=commune_code, status=status, source=source, sex=sex, birth_year=date_of_birth.year
        )
        return [PendingEvent(event=event, occurred_on=recorded_on, unit_code=commune_code)]

    def determine_addiction(
        self, result: DeterminationResult, facility: str, form_number: str, determined_on: date, today: date
    ) -> list[PendingEvent]:
        """Record a health facility's determination; an `addicted` result makes the person an addict on record."""
        self._require_open()
        if determined_on > today:
            raise date_in_future("determined_on", "Ngày xác định")
        status: Status = "addict" if result == "addicted" else "user"
        event = AddictionDetermined(result=result, form_number=form_number, status=status)
        notes = {"facility": facility}  # typed text: kept in the registry, never published
        return [PendingEvent(event=event, occurred_on=determined_on, unit_code=self.commune_code, notes=notes)]

    def change_residence(self, to_commune: str, moved_on: date, today: date) -> list[PendingEvent]:
        """Move the person's management to another commune."""
        self._require_open()
        if moved_on > today:
            raise date_in_future("moved_on", "Ngày chuyển đến")
        if self.registered_on and moved_on < self.registered_on:
            raise RuleViolation(
                "moved_before_registration",
                f"moved_on {moved_on} is before the person was put on record ({self.registered_on})",
                f"ngày chuyển {moved_on} trước ngày lập hồ sơ ({self.registered_on})",
                kind="invalid",
                field="moved_on",
            )
        if to_commune == self.commune_code:
            raise RuleViolation(
                "same_commune",
                f"the person already lives in commune {to_commune}; a move within a commune changes only the village",
                f"người này đã cư trú tại xã {to_commune}; chuyển trong xã chỉ thay đổi thôn/tổ dân phố",
                field="commune_code",
            )
        event = ResidenceChanged(from_commune=self.commune_code, to_commune=to_commune)
        return [PendingEvent(event=event, occurred_on=moved_on, unit_code=to_commune)]

    def assign_after_reorganisation(
        self, to_commune: str, candidates: list[str], decision_number: str, decided_on: date, today: date
    ) -> list[PendingEvent]:
        """Assign a person of a split commune to one of its `candidates` by a decision dated after the reform."""
        self._require_open()
        if decided_on > today:
            raise date_in_future("decided_on", "Ngày quyết định")
        if not candidates:
            raise RuleViolation(
                "not_awaiting_assignment",
                f"person {self.person_id} is managed in commune {self.commune_code}, which was not split on "
                "2025-07-01: there is nothing to assign (a move is a residence change)",
                f"người này đang được quản lý tại xã {self.commune_code}, không thuộc xã bị chia tách ngày "
                "01/07/2025: không cần phân công (chuyển nơi cư trú là thủ tục khác)",
                kind="conflict",
            )
        if decided_on < REFORM_DATE:
            raise RuleViolation(
                "decided_before_reorganisation",
                f"decided_on {decided_on} is before the reorganisation of 2025-07-01",
                f"ngày quyết định {decided_on} trước ngày sắp xếp đơn vị hành chính 01/07/2025",
                kind="invalid",
                field="decided_on",
            )
        if to_commune not in candidates:
            listed = ", ".join(candidates)
            raise RuleViolation(
                "not_a_successor",
                f"commune {to_commune} did not take over any of {self.commune_code}'s area; choose one of {listed}",
                f"xã {to_commune} không tiếp nhận địa bàn của xã {self.commune_code}; hãy chọn một trong: {listed}",
                kind="invalid",
                field="commune_code",
            )
        event = PersonAssignedAfterReorganisation(
            from_commune=self.commune_code, to_commune=to_commune, decision_number=decision_number
        )
        return [PendingEvent(event=event, occurred_on=decided_on, unit_code=to_commune)]

    def merge(self, duplicate: Person, merged_on: date) -> tuple[list[PendingEvent], list[PendingEvent]]:
        """Close `duplicate` into this record: (events for this survivor, events for the duplicate)."""
        if duplicate.person_id == self.person_id:
            raise RuleViolation(
                "merge_self", "a record cannot be merged into itself", "không thể gộp một hồ sơ vào chính nó"
            )
        self._require_open()
        duplicate._require_open()
        event = RecordsMerged(survivor_id=self.person_id, duplicate_id=duplicate.person_id)
        return (
            [PendingEvent(event=event, occurred_on=merged_on, unit_code=self.commune_code)],
            [PendingEvent(event=event, occurred_on=merged_on, unit_code=duplicate.commune_code)],
        )

    def record_death(self, died_on: date, today: date) -> list[PendingEvent]:
        """Close the record because the person died."""
        self._require_open()
        if died_on > today:
            raise date_in_future("died_on", "Ngày mất")
        return [PendingEvent(event=PersonDied(died_on=died_on), occurred_on=died_on, unit_code=self.commune_code)]

    def _require_open(self) -> None:
        if self.version == 0:
            raise RuleViolation(
                "unknown_person", f"no person {self.person_id} on record", "không có hồ sơ", "not_found"
            )
        if not self.is_open:
            raise closed_record(self.person_id, self.merged_into, self.died_on is not None)
