"""The law's calendar rules (shared/vn/rulebook.py): a term of months and the planned end of a course."""

from __future__ import annotations

from datetime import date

import pytest

from shared.vn.rulebook import add_months, planned_end


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2024, 1, 10), 12, date(2025, 1, 10)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # a leap year's February
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 4, 30)),  # a 30-day month
        (date(2024, 8, 31), 6, date(2025, 2, 28)),  # across a year end, into a shorter month
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 11, 30), 3, date(2025, 2, 28)),
        (date(2024, 5, 15), 0, date(2024, 5, 15)),
    ],
)
def test_a_term_of_months_ends_on_the_same_day_or_the_months_last(start: date, months: int, end: date) -> None:
    assert add_months(start, months) == end
    assert planned_end(start, months) == end  # nothing absconded: the term itself


def test_the_days_absconded_push_the_planned_end_back() -> None:
    assert planned_end(date(2024, 1, 10), 12, 30) == date(2025, 2, 9)
    assert planned_end(date(2024, 1, 31), 1, 1) == date(2024, 3, 1)  # 29 Feb, then one day more
    assert planned_end(date(2024, 12, 1), 12, 31) == date(2026, 1, 1)  # pushed across a year end
    assert planned_end(date(2024, 1, 10), 12, 0) == planned_end(date(2024, 1, 10), 12)
