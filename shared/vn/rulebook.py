"""The law's rules: rule sets as data (`data/rulesets.json`) and the date arithmetic every service applies.

Each service that applies a rule validates the fields it reads into its own model; the numbers live only in the
JSON file, so a new law is a new entry there and every service follows it. The calendar rules (a term of months,
the planned end of a course) are functions here, so that cases and reporting compute them one way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from shared.vn.workdays import add_working_days

RULES_FILE = Path(__file__).parent / "data" / "rulesets.json"


class Versioned(BaseModel):
    """One version of a rule set, in force from `valid_from` until the next version."""

    model_config = ConfigDict(frozen=True)

    valid_from: date


V = TypeVar("V", bound=Versioned)


class DecisionDeadlines(Versioned):
    """The post-rehab decision's deadline, as both the cases service and reporting read it from the rule set."""

    post_rehab_file_working_days: int
    post_rehab_decision_working_days: int

    def post_rehab_decision_due(self, completed_on: date) -> date:
        """The last day for the post-rehab decision: the file within its working days of the person reporting
        completion, then the chair's decision within its working days of the police chief's request."""
        return add_working_days(completed_on, self.post_rehab_file_working_days + self.post_rehab_decision_working_days)


@cache
def raw_rulesets(path: Path = RULES_FILE) -> list[dict[str, Any]]:
    """The entries of the rule-set file, as written (read once per process; callers must not change them)."""
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


class Citation(BaseModel):
    """Where a number of a rule set comes from, and whether the article's own text was read."""

    model_config = ConfigDict(frozen=True)

    source: str
    verified: bool
    text: str = ""


class CitedRule(BaseModel):
    """One number of a rule set with its citation (what GET /api/v1/rules lists)."""

    rule: str
    value: Any
    source: str
    verified: bool
    text: str


def numbers(entry: dict[str, Any]) -> dict[str, Any]:
    """Every leaf of a rule-set entry by dotted path (a [min, max] pair or a null is one leaf)."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        else:
            out[prefix] = value

    walk("", {k: v for k, v in entry.items() if k not in _NOT_RULES})
    return out


def citation_of(entry: dict[str, Any], rule: str) -> Citation:
    """The citation covering `rule`: its own, or the nearest parent path's."""
    citations = entry.get("citations", {})
    path = rule
    while path:
        if path in citations:
            return Citation.model_validate(citations[path])
        path = path.rpartition(".")[0]
    raise ValueError(f"rule set {entry.get('valid_from')}: {rule} has no citation")


def cited(entry: dict[str, Any]) -> list[CitedRule]:
    """Every number of `entry` with its citation; raises ValueError for a number nothing cites."""
    rules = []
    for rule, value in numbers(entry).items():
        c = citation_of(entry, rule)
        rules.append(CitedRule(rule=rule, value=value, source=c.source, verified=c.verified, text=c.text))
    return rules


def unverified(entry: dict[str, Any], used: Sequence[str]) -> list[str]:
    """Of the rules `used` (paths or parent paths), those whose citation is not verified, sorted."""
    leaves = numbers(entry)
    return sorted(
        {
            rule
            for prefix in used
            for rule in leaves
            if (rule == prefix or rule.startswith(prefix + ".")) and not citation_of(entry, rule).verified
        }
    )


def entry_in_force(on: date, path: Path = RULES_FILE) -> dict[str, Any]:
    """The raw entry in force on `on` (the earliest one for dates before any of them)."""
    entries = sorted(raw_rulesets(path), key=lambda e: str(e["valid_from"]))
    current = entries[0]
    for entry in entries:
        if date.fromisoformat(str(entry["valid_from"])) <= on:
            current = entry
    return current


_NOT_RULES = {"valid_from", "law", "citations", "_comment"}


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
