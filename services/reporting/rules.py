"""The deadlines reporting measures against, read from the law's rule sets (the same data the cases service applies)."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from shared.vn.rulebook import Versioned, entry_in_force, load_versions, unverified
from shared.vn.workdays import add_working_days


class Deadlines(Versioned):
    """The fields of one rule set that reporting reads: how long a decision may wait, how far ahead ends are listed."""

    post_rehab_file_working_days: int
    post_rehab_decision_working_days: int
    post_rehab_ending_notice_days: int

    def post_rehab_decision_due(self, completed_on: date) -> date:
        """The last day for the post-rehab decision after a completion (the file's and the decision's working days)."""
        return add_working_days(completed_on, self.post_rehab_file_working_days + self.post_rehab_decision_working_days)


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
