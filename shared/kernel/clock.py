"""Today's date in Vietnam (UTC+7): legal dates are Vietnamese calendar days, not the server's.

Month arithmetic (`add_months`, `planned_end`) is a rule of the law: shared/vn/rulebook.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")


def today() -> date:
    return datetime.now(UTC).astimezone(VIETNAM).date()
