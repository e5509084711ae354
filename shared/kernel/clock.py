"""Today's date in Vietnam (UTC+7): legal dates are Vietnamese calendar days, not the server's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")


def today() -> date:
    return datetime.now(UTC).astimezone(VIETNAM).date()


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
