"""Folding events into report facts, periods and age bands, without I/O."""

from __future__ import annotations

from datetime import date

import pytest

from services.reporting.fold import empty, fold, source_of
from services.reporting.periods import age_band, parse_period
from shared.kernel.events import UnknownEventError
from shared.kernel.rules import RuleViolation
from tests.support.envelopes import envelope as env


def test_a_case_folds_once_per_version_and_follows_its_commune() -> None:
    facts = empty("case", "c1")
    enrolled = env(
        "case_enrolled",
        "c1",
        1,
        "2024-02-01",
        {"person_id": "p", "modality": "compulsory", "started_on": "2024-02-01", "sex": "male", "birth_year": 1990},
    )
    assert fold(facts, enrolled) and not fold(facts, enrolled)
    fold(facts, env("case_absconded", "c1", 2, "2024-05-01", {}))
    fold(facts, env("case_returned", "c1", 3, "2024-05-11", {"absconded_days": 10}))
    fold(facts, env("case_transferred", "c1", 4, "2024-06-01", {"from_commune": "07616", "to_commune": "07660"}))
    assert [(c["table"], c.get("commune_code"), c.get("returned_on")) for c in facts.children] == [
        ("case_units", "07616", None),
        ("abscondments", None, date(2024, 5, 11)),
        ("case_units", "07660", None),
    ]
    assert facts.row["version"] == 4 and facts.row["enrolled_commune"] == "07616"
    assert (facts.row["latest_commune"], facts.row["latest_from"]) == ("07660", date(2024, 6, 1))  # its unit from then
    back_dated = {"from_commune": "07660", "to_commune": "07615"}
    fold(facts, env("case_transferred", "c1", 5, "2024-03-01", back_dated))  # recorded last, dated before the other
    assert (facts.row["latest_commune"], facts.row["latest_from"]) == ("07660", date(2024, 6, 1))


def test_a_case_keeps_its_planned_end_as_of_each_return() -> None:
    facts = empty("case", "c2")
    payload = {"person_id": "p", "modality": "compulsory", "started_on": "2024-01-10", "planned_months": 12}
    fold(facts, env("case_enrolled", "c2", 1, "2024-01-10", payload))
    fold(facts, env("case_absconded", "c2", 2, "2024-03-01", {}))
    fold(facts, env("case_returned", "c2", 3, "2024-03-31", {"absconded_days": 30}))
    fold(facts, env("case_transferred", "c2", 4, "2024-06-01", {"from_commune": "07616", "to_commune": "07660"}))
    fold(facts, env("case_absconded", "c2", 5, "2025-03-01", {}))  # after the planned end: still counted
    fold(facts, env("case_returned", "c2", 6, "2025-03-06", {"absconded_days": 5}))
    ends = [(c["version"], c["valid_from"], c["planned_end"]) for c in facts.children if "planned_end" in c]
    assert ends == [
        (1, date(2024, 1, 10), date(2025, 1, 10)),
        (3, date(2024, 3, 31), date(2025, 2, 9)),
        (6, date(2025, 3, 6), date(2025, 2, 14)),
    ]
    methadone = empty("case", "c3")
    open_ended = {**payload, "modality": "methadone", "planned_months": None}
    fold(methadone, env("case_enrolled", "c3", 1, "2024-01-10", open_ended))
    assert [c["table"] for c in methadone.children] == ["case_units"]  # open-ended: no planned end


def test_unknown_types_and_newer_versions_are_poison() -> None:
    assert source_of(env("case_completed", "x", 1, "2024-01-01", {})) == "cases"
    with pytest.raises(UnknownEventError, match="unknown event type 'something_else'"):
        source_of(env("something_else", "x", 1, "2024-01-01", {}))
    with pytest.raises(UnknownEventError, match="newer"):
        source_of(env("case_completed", "x", 1, "2024-01-01", {}, schema_version=2))


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024", date(2024, 1, 1), date(2024, 12, 31)),
        ("2024-H1", date(2024, 1, 1), date(2024, 6, 30)),
        ("2024-H2", date(2024, 7, 1), date(2024, 12, 31)),
    ],
)
def test_periods(text: str, start: date, end: date) -> None:
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)
    assert parse_period(None, date(2024, 9, 30)).start == date(2024, 1, 1)
    with pytest.raises(RuleViolation):
        parse_period("2024-Q3")


def test_age_bands_follow_the_statutory_report() -> None:
    on = date(2024, 12, 31)
    assert [age_band(on.year - age, on) for age in (13, 14, 15, 16, 17, 18, 29, 30)] == [
        "<14",
        "14-16",
        "14-16",
        "16-18",
        "16-18",
        "18-30",
        "18-30",
        "30+",
    ]
