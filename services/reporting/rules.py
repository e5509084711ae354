"""The deadlines reporting measures against, read from the law's rule sets (the same data the cases service applies)."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from shared.vn.rulebook import DecisionDeadlines, entry_in_force, load_versions, unverified


class Deadlines(DecisionDeadlines):
    """The fields of one rule set that reporting reads: how long a decision may wait, how far ahead ends are listed."""

    post_rehab_ending_notice_days: int


DECISION_DUE = ("post_rehab_file_working_days", "post_rehab_decision_working_days")
ENDING_NOTICE = ("post_rehab_ending_notice_days",)


def rules_used(on: date, used: tuple[str, ...]) -> dict[str, Any]:
    """A report's note on the rules it applied on `on`: the rule set's date and which numbers are unverified."""
    entry = entry_in_force(on)
    return {"rules_from": str(entry["valid_from"]), "rules_unverified": unverified(entry, used)}


@cache
def deadlines() -> tuple[Deadlines, ...]:
    """Every version of the deadlines, oldest first (read once: the file changes only with a release)."""
    return tuple(load_versions(Deadlines))
