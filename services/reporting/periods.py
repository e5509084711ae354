"""Reporting periods: a year (`2024`), a half-year (`2024-H1`, `2024-H2`) or an as-of date (`2024-09-30`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from shared.kernel.rules import RuleViolation

_PERIOD = re.compile(r"([0-9]{4})(?:-H([12]))?")  # ASCII digits, matched whole: no CR/LF rides along
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)  # the years plans exist for (quotas: 2000-2100)


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def share_of_year(self) -> float:
        """How much of the year has passed at the period's end (pro-rates yearly targets)."""
        days = (date(self.year, 12, 31) - date(self.year, 1, 1)).days + 1
        return ((self.end - date(self.year, 1, 1)).days + 1) / days


def parse_period(text: str | None, as_of: date | None = None) -> Period:
    """`2024`, `2024-H1`, `2024-H2`, or None with `as_of` (from 1 January of that year to `as_of`).

    The label is rebuilt from the parsed parts, so what reaches a file name or a header is only what was checked.
    """
    if text is None:
        if as_of is None:
            raise RuleViolation(
                "period_required",
                "give a period (2024, 2024-H1, 2024-H2) or as_of",
                "cần kỳ báo cáo (2024, 2024-H1, 2024-H2) hoặc ngày as_of",
                "invalid",
                "period",
            )
        as_of = report_day(as_of)
        return Period(as_of.isoformat(), date(as_of.year, 1, 1), as_of)
    match = _PERIOD.fullmatch(text.strip(" "))
    if not match:
        shown = text[:20].encode("unicode_escape").decode()  # a CR/LF is shown, not echoed
        raise RuleViolation(
            "bad_period",
            f"period '{shown}' is not one of 2024, 2024-H1, 2024-H2",
            f"kỳ '{shown}' không hợp lệ (2024, 2024-H1, 2024-H2)",
            "invalid",
            "period",
        )
    year, half = int(match[1]), match[2]
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise RuleViolation(
            "period_out_of_range",
            f"the period's year must be between {FIRST_DAY.year} and {LAST_DAY.year}",
            f"năm của kỳ báo cáo phải từ {FIRST_DAY.year} đến {LAST_DAY.year}",
            "invalid",
            "period",
        )
    if half == "1":
        return Period(f"{year}-H1", date(year, 1, 1), date(year, 6, 30))
    if half == "2":
        return Period(f"{year}-H2", date(year, 7, 1), date(year, 12, 31))
    return Period(str(year), date(year, 1, 1), date(year, 12, 31))


def report_day(day: date, field: str = "as_of") -> date:
    """`day` if reports can be computed on it (2000-01-01 to 2100-12-31): no date arithmetic overflows then."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise RuleViolation(
            "date_out_of_range",
            f"{field} must be between {FIRST_DAY} and {LAST_DAY}",
            f"{field} phải từ ngày {FIRST_DAY} đến ngày {LAST_DAY}",
            "invalid",
            field,
        )
    return day


AGE_BANDS = (("<14", 0, 14), ("14-16", 14, 16), ("16-18", 16, 18), ("18-30", 18, 30), ("30+", 30, 200))


def age_band(birth_year: int | None, on: date) -> str:
    if birth_year is None:
        return "unknown"
    age = on.year - birth_year
    return next(label for label, low, high in AGE_BANDS if low <= age < high) if age >= 0 else "unknown"
