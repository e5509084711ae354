"""Vietnam's working calendar, for deadlines the law states in working days ("ngày làm việc").

The calendar is the `holidays` library's (country VN: Tết, Hùng Kings, 30/4, 1/5, National Day with its adjacent
day, the substitute days the government declares), not a list written here. A declared swap moves a day off to
a weekday and makes a Saturday a working day; the library names the Saturday in the day off's name ("Day off
(substituted from 08/22/2026)"), and that Saturday counts as a working day here.

Counting follows the Civil Code (Law 91/2015/QH13, Art. 147(1)): a period counted in days starts on the day
after the event, so the deadline of "within 3 working days of D" is the third working day after D.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache, lru_cache

import holidays

_SUBSTITUTED_FROM = re.compile(r"substituted from (\d{2})/(\d{2})/(\d{4})")


@cache
def _year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off on weekdays, weekend days worked) of `year` in Vietnam."""
    calendar = holidays.country_holidays("VN", years=year, language="en_US")
    off, worked = set(), set()
    for day, name in calendar.items():
        off.add(day)
        for month, dom, y in _SUBSTITUTED_FROM.findall(name):
            worked.add(date(int(y), int(month), int(dom)))
    return frozenset(off), frozenset(worked)


def is_working_day(day: date) -> bool:
    off, worked = _year(day.year)
    if day in worked:
        return True
    return day.weekday() < 5 and day not in off


@lru_cache(maxsize=16384)  # the calendar is fixed: a report's thousands of completers share a few hundred dates
def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (the last day of a period of `days` working days from `start`)."""
    if days < 0:
        raise ValueError("a period of working days cannot be negative")
    current, left = start, days
    while left:
        current += timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when `end` is not after `start`)."""
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        count += is_working_day(current)
    return count
