"""The deadlines reporting measures against, read from the law's rule sets (the same data the cases service applies)."""

from __future__ import annotations

from functools import cache

from shared.vn.rulebook import Versioned, load_versions


class Deadlines(Versioned):
    """The fields of one rule set that reporting reads: how long a decision may wait, how far ahead ends are listed."""

    post_rehab_decision_days: int
    post_rehab_ending_notice_days: int


@cache
def deadlines() -> tuple[Deadlines, ...]:
    """Every version of the deadlines, oldest first (read once: the file changes only with a release)."""
    return tuple(load_versions(Deadlines))
