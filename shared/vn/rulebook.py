"""The law's rules: rule sets as data (`data/rulesets.json`) and the date arithmetic every service applies.

Each service that applies a rule validates the fields it reads into its own model; the numbers live only in the
JSON file, so a new law is a new entry there and every service follows it. The calendar rules (a term of months,
the planned end of a course) are functions here, so that cases and reporting compute them one way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

RULES_FILE = Path(__file__).parent / "data" / "rulesets.json"


class Versioned(BaseModel):
    """One version of a rule set, in force from `valid_from` until the next version."""

    model_config = ConfigDict(frozen=True)

    valid_from: date


V = TypeVar("V", bound=Versioned)


def raw_rulesets(path: Path = RULES_FILE) -> list[dict[str, Any]]:
    """The entries of the rule-set file, as written."""
    entries = json.loads(path.read_text(encoding="utf-8"))["rulesets"]
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: 'rulesets' must be a non-empty list")
    return entries


def load_versions(model: type[V], path: Path = RULES_FILE) -> list[V]:
    """Every entry validated as `model` (extra fields ignored), oldest first."""
    return sorted((model.model_validate(entry) for entry in raw_rulesets(path)), key=lambda v: v.valid_from)


def in_force(versions: Sequence[V], on: date) -> V:
    """The version in force on `on` (the earliest one for dates before any of them)."""
    current = versions[0]
    for version in versions:
        if version.valid_from <= on:
            current = version
    return current


def add_months(start: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter: 31 Jan + 1 month = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, min(start.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def planned_end(started_on: date, months: int, absconded_days: int = 0) -> date:
    """The planned end of a course of `months` from `started_on`, pushed back by the days spent absconded.

    The time a person is absconded does not count toward the course: the clock stops at the abscondment and runs
    again at the return (../shared/DOMAIN.md, "Lifecycle of a person and a case", item 5, which cites no article
    for it; to be checked against the law's text before an article is named here). `absconded_days` is the total
    of the spells that have ended (each return's `absconded_days`); a spell still running is not counted yet.
    The earliest completion (a course's minimum term) is the same rule with the minimum's months.
    """
    return add_months(started_on, months) + timedelta(days=absconded_days)
