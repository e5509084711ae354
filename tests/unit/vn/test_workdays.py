"""Working-day deadlines on Vietnam's calendar, with the days off taken from the `holidays` library."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from shared.vn.workdays import add_working_days, is_working_day, working_days_between


def days_off(year: int, word: str) -> list[date]:
    calendar = holidays.country_holidays("VN", years=year, language="en_US")
    return sorted(d for d, name in calendar.items() if word in name)


def test_tet_2026_is_skipped_as_the_library_declares_it() -> None:
    tet = days_off(2026, "Lunar New Year")
    assert tet == [date(2026, 2, 16) + timedelta(days=i) for i in range(5)]  # eve + days 1 to 4, Mon to Fri
    assert not any(is_working_day(d) for d in tet)
    # reported on Friday 13 February: Tết week and the weekend after it do not count
    assert add_working_days(date(2026, 2, 13), 3) == date(2026, 2, 25)
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 25)) == 3


def test_national_day_2026_and_its_swapped_saturday() -> None:
    national = days_off(2026, "National Day")
    assert national == [date(2026, 9, 1), date(2026, 9, 2)]
    swapped = days_off(2026, "substituted from 08/22/2026")
    assert swapped == [date(2026, 8, 31)]
    assert is_working_day(date(2026, 8, 22))  # the Saturday worked for Monday 31 August
    assert add_working_days(date(2026, 8, 21), 1) == date(2026, 8, 22)
    # requested on Friday 28 August: 29-30 weekend, 31 swap, 1-2 National Day, then Thursday and Friday
    assert add_working_days(date(2026, 8, 28), 2) == date(2026, 9, 4)


def test_tet_2025_crosses_a_saturday_and_a_month() -> None:
    assert add_working_days(date(2025, 1, 24), 2) == date(2025, 2, 4)  # 27/1 to 1/2 off, then the weekend
    assert add_working_days(date(2025, 3, 3), 0) == date(2025, 3, 3)


def test_plain_weeks_count_weekdays_only() -> None:
    assert add_working_days(date(2026, 3, 6), 3) == date(2026, 3, 11)  # Friday -> Wednesday
    with pytest.raises(ValueError):
        add_working_days(date(2026, 3, 6), -1)
