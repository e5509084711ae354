"""The province's sums, the differences that name a late change, and the reporting calendar (all without I/O)."""

from __future__ import annotations

from datetime import date

from services.reporting.calendar import deadline
from services.reporting.completeness import consolidate
from services.reporting.late import diff
from services.reporting.periods import parse_period


def report(enrolled: int, completers: int, covered: int, quota: int | None) -> dict[str, object]:
    return {
        "indicators": [
            {
                "indicator": "voluntary_community_rehab_enrolments",
                "value": enrolled,
                "quota": quota,
                "attainment": None,
            },
            {
                "indicator": "post_rehab_management_coverage",
                "value": covered / completers if completers else None,
                "completers": completers,
                "covered": covered,
            },
        ]
    }


def test_counts_are_added_and_ratios_recomputed_from_their_parts() -> None:
    summed = {i["indicator"]: i for i in consolidate([report(2, 1, 1, 4), report(1, 3, 0, 2)])}
    assert summed["voluntary_community_rehab_enrolments"]["value"] == 3
    assert summed["voluntary_community_rehab_enrolments"]["quota"] == 6
    assert summed["voluntary_community_rehab_enrolments"]["attainment"] == 0.5
    coverage = summed["post_rehab_management_coverage"]
    assert (coverage["completers"], coverage["covered"], coverage["value"]) == (4, 1, 0.25)  # not 1.0 + 0.0


def test_nothing_approved_sums_to_nothing() -> None:
    assert consolidate([]) == []


def test_a_difference_names_the_indicator_the_field_and_the_delta() -> None:
    changed = diff(report(2, 0, 0, 4), report(2, 1, 0, 4))
    assert [(d["indicator"], d["field"], d["submitted"], d["now"], d["delta"]) for d in changed] == [
        ("post_rehab_management_coverage", "value", None, 0.0, None),
        ("post_rehab_management_coverage", "completers", 0, 1, 1),
    ]
    assert diff(report(2, 1, 0, 4), report(2, 1, 0, 4)) == []


def test_the_calendar_gives_the_deadline_with_its_source_and_whether_it_was_verified() -> None:
    h1, h2, year = (deadline(parse_period(p)) for p in ("2026-H1", "2026-H2", "2026"))
    assert h1 is not None and h2 is not None and year is not None
    assert (h1.due, h2.due, year.due) == (date(2026, 7, 7), date(2027, 1, 7), date(2027, 1, 7))
    assert "05/2011/TT-BLĐTBXH" in h1.source and h1.verified is False
    assert deadline(parse_period("2005")) is None  # no rule before the circular took effect
