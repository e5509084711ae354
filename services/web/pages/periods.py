"""The periods the plans report on: a year, or its first or second half (`2026`, `2026-H1`, `2026-H2`)."""

from __future__ import annotations

import re
from datetime import date

from shared.kernel.clock import today

PERIOD = re.compile(r"^(20[0-9]{2})(-H[12])?$")


def current_half(on: date | None = None) -> str:
    on = on or today()
    return f"{on.year}-H{1 if on.month <= 6 else 2}"


def valid_period(value: str | None) -> str:
    return value if value and PERIOD.match(value) else current_half()


def choices(on: date | None = None) -> list[str]:
    """The periods offered: this year's and the three before, newest first."""
    year = (on or today()).year
    return [p for y in range(year, year - 4, -1) for p in (f"{y}-H2", f"{y}-H1", str(y))]
