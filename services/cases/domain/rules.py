"""The law's durations and deadlines, as cases reads them from the shared rule-set data (`shared/vn/rulebook.py`)."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from shared.vn.rulebook import RULES_FILE, Versioned, in_force, load_versions

Modality = Literal["voluntary_community", "voluntary_facility", "compulsory", "methadone"]
AgeGroup = Literal["adult", "minor"]


class RuleSet(Versioned):
    """One version of the rules, in force from `valid_from` until the next version."""

    source: str
    durations_months: dict[Modality, dict[AgeGroup, tuple[int, int]] | None]
    post_rehab_months: dict[str, int]
    post_rehab_decision_days: int
    post_rehab_ending_notice_days: int
    adult_age: int
    minimum_age: int

    def age_group(self, birth_year: int, on: date) -> AgeGroup:
        return "adult" if on.year - birth_year >= self.adult_age else "minor"

    def duration(self, modality: Modality, group: AgeGroup) -> tuple[int, int] | None:
        """(minimum, maximum) months of treatment, or None for open-ended methadone maintenance."""
        ranges = self.durations_months[modality]
        return None if ranges is None else ranges[group]

    def post_rehab(self, modality: Modality, group: AgeGroup) -> int:
        """Months of post-rehab management that follow completion of `modality`."""
        key = f"compulsory_{group}" if modality == "compulsory" else modality
        return self.post_rehab_months[key]


class RuleBook(BaseModel):
    """Every version of the rules, oldest first."""

    rulesets: list[RuleSet]

    def on(self, legal_date: date) -> RuleSet:
        """The rules in force on `legal_date` (the earliest set for dates before any of them)."""
        return in_force(self.rulesets, legal_date)


@cache
def rulebook(path: Path = RULES_FILE) -> RuleBook:
    return RuleBook(rulesets=load_versions(RuleSet, path))
