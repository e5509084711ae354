"""The reporting calendar: when a commune's report of a period is due at the province (calendar.json, as data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from services.reporting.periods import Period

CALENDAR = Path(__file__).with_name("calendar.json")


@dataclass(frozen=True)
class Deadline:
    due: date
    source: str
    verified: bool

    def header(self) -> dict[str, Any]:
        return {"deadline": self.due.isoformat(), "deadline_source": self.source, "deadline_verified": self.verified}


@cache
def _rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = json.loads(CALENDAR.read_text(encoding="utf-8"))["rules"]
    return sorted(rules, key=lambda r: r["applies_from"])


def deadline(period: Period) -> Deadline | None:
    """The day the report of `period` is due by the rule in force at the period's end (None before any rule)."""
    rules = [r for r in _rules() if date.fromisoformat(r["applies_from"]) <= period.end]
    if not rules:
        return None
    rule = rules[-1]
    kind = period.label.rsplit("-", 1)[-1] if "-H" in period.label else "year"
    due = rule["deadlines"][kind]
    return Deadline(date(period.year + due["years_after"], due["month"], due["day"]), rule["source"], rule["verified"])
