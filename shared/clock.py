"""Today's date in Vietnam (UTC+7): legal dates are Vietnamese calendar days, not the server's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")


def today() -> date:
    return datetime.now(UTC).astimezone(VIETNAM).date()
