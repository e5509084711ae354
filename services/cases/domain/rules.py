"""The law's durations and deadlines, as cases reads them from the shared rule-set data (`shared/vn/rulebook.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from shared.vn.rulebook import (
    RULES_FILE,
    DecisionDeadlines,
    cited,
    entry_in_force,
    in_force,
    load_versions,
    raw_rulesets,
    unverified,
)
from shared.vn.workdays import add_working_days

Modality = Literal["voluntary_community", "voluntary_facility", "compulsory", "methadone"]
AgeGroup = Literal["adult", "minor"]
Course = Literal["first", "repeat"]  # the person's first course of rehab, or a second or later one


class RuleSet(DecisionDeadlines):
    """One version of the rules, in force from `valid_from` until the next version."""

    law: str
    durations_months: dict[Modality, dict[AgeGroup, dict[Course, tuple[int, int]]] | None]
    post_rehab_months: dict[str, int]
    post_rehab_ending_notice_days: int
    move_notice_working_days: int | None
    move_notice_hours: int | None
    move_report_hours: int | None
    electronic_monitoring: bool
    adult_age: int
    minimum_age: int

    def age_group(self, birth_year: int, on: date) -> AgeGroup:
        return "adult" if on.year - birth_year >= self.adult_age else "minor"

    def duration(self, modality: Modality, group: AgeGroup, course: Course = "first") -> tuple[int, int] | None:
        """(minimum, maximum) months of treatment, or None for open-ended methadone maintenance."""
        ranges = self.durations_months[modality]
        return None if ranges is None else ranges[group][course]

    def move_notice_due(self, moved_on: date) -> date | None:
        """The last day for the sending commune police to notify the receiving commune of a move on `moved_on`:
        within hours when the rules say so (Law 120/2025), else within working days (Law 73/2021); None: no duty."""
        if self.move_notice_hours is not None:
            return _within_hours(moved_on, self.move_notice_hours)
        if self.move_notice_working_days is not None:
            return add_working_days(moved_on, self.move_notice_working_days)
        return None

    def move_report_due(self, moved_on: date) -> date | None:
        """The last day for the person to report at the new place of residence; None where the law sets none."""
        return None if self.move_report_hours is None else _within_hours(moved_on, self.move_report_hours)

    def post_rehab(self, modality: Modality, group: AgeGroup) -> int:
        """Months of post-rehab management that follow completion of `modality`."""
        key = f"compulsory_{group}" if modality == "compulsory" else modality
        return self.post_rehab_months[key]


def _within_hours(on: date, hours: int) -> date:
    """The last day of a period of `hours` from an event known only by its date `on`.

    The system records the day of a move, not its hour, so the period is taken to start at the end of that day
    (the reading most favourable to the person who owes the duty): 24 hours from a move on D run out on D + 1.
    """
    return on + timedelta(days=-(-hours // 24))


class RuleBook(BaseModel):
    """Every version of the rules, oldest first."""

    rulesets: list[RuleSet]

    def on(self, legal_date: date) -> RuleSet:
        """The rules in force on `legal_date` (the earliest set for dates before any of them)."""
        return in_force(self.rulesets, legal_date)


@cache
def rulebook(path: Path = RULES_FILE) -> RuleBook:
    return RuleBook(rulesets=load_versions(RuleSet, path))


# The numbers the work lists and the overdue flags use
DEADLINE_RULES = ("post_rehab_file_working_days", "post_rehab_decision_working_days", "post_rehab_ending_notice_days")
# The numbers a move's duties use, from the rule set in force on the day of the move
MOVE_RULES = ("move_notice_working_days", "move_notice_hours", "move_report_hours")


def rules_unverified(on: date, used: Sequence[str]) -> list[str]:
    """Which of the rules `used` on `on` rest on a number not verified against the law's text."""
    return unverified(entry_in_force(on), used)


def published() -> list[dict[str, Any]]:
    """Every rule set with each number's legal source and whether it was verified (GET /api/v1/rules)."""
    return [
        {
            "valid_from": entry["valid_from"],
            "law": entry["law"],
            "rules": [rule.model_dump() for rule in cited(entry)],
        }
        for entry in raw_rulesets()
    ]
