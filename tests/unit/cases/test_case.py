"""The Case state machine: every transition, allowed and refused, and the durations on both sides of 2026-07-01."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from services.cases.domain.case import Case, PersonFacts
from services.cases.domain.events import CaseCompleted, CaseEnrolled, PostRehabStarted
from services.cases.domain.rules import Modality, rulebook
from shared.kernel.rules import RuleViolation

RULES = rulebook()
TODAY = date(2027, 12, 31)
ADDICT = PersonFacts("p1", "07616", "addict", "male", 1990)


def enrolled(
    modality: Modality = "compulsory", months: int | None = 12, on: date = date(2024, 1, 10), earlier: int = 0
) -> Case:
    pending = Case.enroll(
        ADDICT,
        "p1",
        modality,
        "QD-1",
        on,
        on,
        months,
        "CSCN Bắc Giang",
        "TA-1" if modality == "compulsory" else None,
        RULES,
        TODAY,
        earlier,
    )
    return replay(Case("c1"), pending)


def replay(case: Case, pending: list[Any]) -> Case:
    for p in pending:
        case.apply(p.event, p.occurred_on, p.unit_code)
    return case


def step(case: Case, name: str, on: date) -> Case:
    return replay(case, ACTIONS[name](case, on))


ACTIONS: dict[str, Callable[[Case, date], list[Any]]] = {
    "abscond": lambda c, d: c.abscond(d, TODAY),
    "return": lambda c, d: c.return_(d, TODAY),
    "drop_out": lambda c, d: c.drop_out(d, "left", TODAY),
    "terminate": lambda c, d: c.terminate(d, "decision", TODAY),
    "complete": lambda c, d: c.complete(d, "GCN-1", RULES, TODAY),
    "start_post_rehab": lambda c, d: c.start_post_rehab("QD-2", d, d, None, "Hội CCB", RULES, TODAY),
    "end_post_rehab": lambda c, d: c.end_post_rehab(d, "GCN-2", TODAY),
    "relapse": lambda c, d: c.record_relapse(d, TODAY),
}

# (modality, steps taken before, action tried, expected: resulting state or refusal code)
D = date(2025, 6, 1)
TABLE: list[tuple[Modality, list[str], str, str]] = [
    ("compulsory", [], "abscond", "absconded"),
    ("compulsory", [], "complete", "completed"),
    ("compulsory", [], "terminate", "terminated"),
    ("compulsory", [], "drop_out", "compulsory_cannot_drop_out"),
    ("compulsory", [], "return", "invalid_transition"),
    ("compulsory", [], "start_post_rehab", "not_completed"),
    ("compulsory", [], "end_post_rehab", "invalid_transition"),
    ("compulsory", [], "relapse", "invalid_transition"),
    ("compulsory", ["abscond"], "complete", "case_absconded"),
    ("compulsory", ["abscond"], "return", "active"),
    ("compulsory", ["abscond"], "abscond", "invalid_transition"),
    ("compulsory", ["abscond"], "terminate", "terminated"),
    ("compulsory", ["abscond"], "start_post_rehab", "not_completed"),
    ("compulsory", ["complete"], "start_post_rehab", "post_rehab"),
    ("compulsory", ["complete"], "complete", "invalid_transition"),
    ("compulsory", ["complete"], "relapse", "relapsed"),
    ("compulsory", ["complete"], "abscond", "invalid_transition"),
    ("compulsory", ["complete", "start_post_rehab"], "end_post_rehab", "post_rehab_ended"),
    ("compulsory", ["complete", "start_post_rehab"], "relapse", "relapsed"),
    ("compulsory", ["complete", "start_post_rehab"], "start_post_rehab", "invalid_transition"),
    ("compulsory", ["complete", "start_post_rehab", "end_post_rehab"], "relapse", "invalid_transition"),
    ("compulsory", ["terminate"], "complete", "invalid_transition"),
    ("voluntary_community", [], "drop_out", "dropped_out"),
    ("voluntary_community", [], "abscond", "not_residential"),
    ("voluntary_community", [], "complete", "completed"),
    ("voluntary_community", ["drop_out"], "complete", "invalid_transition"),
    ("voluntary_facility", [], "abscond", "absconded"),
    ("voluntary_facility", ["abscond"], "drop_out", "dropped_out"),
    ("methadone", [], "drop_out", "dropped_out"),
    ("methadone", [], "abscond", "not_residential"),
    ("methadone", [], "complete", "completed"),
    ("methadone", ["complete"], "start_post_rehab", "post_rehab"),
]


@pytest.mark.parametrize(("modality", "before", "action", "expected"), TABLE)
def test_transitions(modality: Modality, before: list[str], action: str, expected: str) -> None:
    months = {"compulsory": 12, "methadone": None}.get(modality, 6)
    case = enrolled(modality, months)
    day = date(2025, 3, 1)
    for name in before:
        case = step(case, name, day)
    try:
        case = step(case, action, day)
    except RuleViolation as refused:
        assert refused.code == expected, refused.message
        assert refused.message and refused.message_vi
        return
    assert case.state == expected


def test_a_second_step_cannot_be_dated_before_the_last_one() -> None:
    case = step(enrolled(), "abscond", date(2024, 5, 1))
    with pytest.raises(RuleViolation, match="before the case's last recorded step") as refused:
        case.return_(date(2024, 4, 1), TODAY)
    assert refused.value.field == "returned_on"


def test_time_absconded_does_not_count_toward_the_duration() -> None:
    case = enrolled("compulsory", 12, date(2024, 1, 10))
    case = step(case, "abscond", date(2024, 3, 1))
    case = step(case, "return", date(2024, 3, 31))  # 30 days at large
    assert case.planned_end == date(2025, 2, 9)
    with pytest.raises(RuleViolation) as refused:
        case.complete(date(2025, 1, 20), "GCN", RULES, TODAY)  # 12 months from the start, but 30 days were lost
    assert refused.value.code == "completed_too_early" and "2025-02-09" in refused.value.message
    [done] = case.complete(date(2025, 2, 9), "GCN", RULES, TODAY)
    assert isinstance(done.event, CaseCompleted) and done.event.served_days == 366


@pytest.mark.parametrize(
    ("decided", "months", "expected"),
    [
        (date(2026, 6, 30), 8, "duration_out_of_range"),
        (date(2026, 7, 1), 8, "duration_out_of_range"),
        (date(2026, 6, 30), 12, "active"),
        (date(2026, 7, 1), 12, "duration_out_of_range"),
        (date(2026, 7, 1), 24, "active"),
        (date(2026, 7, 1), 25, "duration_out_of_range"),
    ],
)
def test_compulsory_durations_follow_the_rules_in_force_on_the_decision_date(
    decided: date, months: int, expected: str
) -> None:
    try:
        case = enrolled("compulsory", months, decided)
    except RuleViolation as refused:
        assert refused.code == expected and refused.field == "planned_months"
        return
    assert case.state == expected


@pytest.mark.parametrize(("decided", "legal_months"), [(date(2026, 6, 30), 24), (date(2026, 7, 1), 24)])
def test_post_rehab_length_after_adult_compulsory_rehab_changes_on_2026_07_01(decided: date, legal_months: int) -> None:
    case = step(enrolled("compulsory", 12, date(2025, 6, 1)), "complete", date(2026, 6, 1))
    [started] = case.start_post_rehab("QD-3", decided, decided, None, "Hội Phụ nữ", RULES, TODAY)
    assert isinstance(started.event, PostRehabStarted)
    assert started.event.months == legal_months and started.event.days_waited == (decided - date(2026, 6, 1)).days
    with pytest.raises(RuleViolation, match=f"lasts {legal_months} months"):
        case.start_post_rehab("QD-3", decided, decided, 18, "Hội Phụ nữ", RULES, TODAY)


def test_enrolment_refusals() -> None:
    def enrol(person: PersonFacts | None = ADDICT, **kw: Any) -> None:
        args: dict[str, Any] = {
            "modality": "compulsory",
            "decision_number": "QD",
            "decided_on": date(2024, 1, 1),
            "started_on": date(2024, 1, 5),
            "planned_months": 12,
            "facility": None,
            "court_decision_number": "TA",
        } | kw
        Case.enroll(person, "p1", rules=RULES, today=TODAY, **args)

    cases: list[tuple[dict[str, Any], str]] = [
        ({"person": None}, "unknown_person"),
        ({"person": PersonFacts("p1", "07616", "user", "male", 1990)}, "not_determined_addicted"),
        ({"person": PersonFacts("p1", "07616", "addict", "male", 1990, on_record=False)}, "person_not_on_record"),
        ({"court_decision_number": None}, "court_decision_required"),
        ({"started_on": date(2023, 12, 1)}, "dates_out_of_order"),
        ({"decided_on": date(2028, 1, 1), "started_on": date(2028, 1, 1)}, "date_in_future"),
        ({"planned_months": 6}, "duration_out_of_range"),
        ({"person": PersonFacts("p1", "07616", "addict", "male", 2014)}, "too_young"),
    ]
    for change, code in cases:
        with pytest.raises(RuleViolation) as refused:
            enrol(**change)
        assert refused.value.code == code, (change, refused.value.message)
    enrol(person=PersonFacts("p1", "07616", "addict", "male", 2008), planned_months=8)  # a minor: 6-12 months


def test_a_move_transfers_only_open_cases() -> None:
    case = enrolled()
    [moved] = case.transfer("07660", date(2024, 6, 1))
    assert moved.unit_code == "07660"
    replay(case, [moved])
    assert case.commune_code == "07660" and case.transfer("07660", date(2024, 7, 1)) == []
    closed = step(enrolled(), "terminate", date(2024, 5, 1))
    assert closed.transfer("07660", date(2024, 6, 1)) == []


def test_a_death_closes_any_open_case_and_leaves_closed_ones_alone() -> None:
    case = step(enrolled(), "complete", date(2025, 3, 1))
    [closed] = case.close_on_death(date(2025, 2, 1))
    assert closed.occurred_on == date(2025, 3, 1)  # never before the case's last step
    replay(case, [closed])
    assert case.state == "terminated" and case.close_on_death(date(2025, 4, 1)) == []


# (modality, age band, earlier courses) -> the months a course may be planned for, each side of 2026-07-01:
# Law 73/2021 Arts. 30(2), 31(1), 33(3) and the administrative violations law Art. 95 before; Law 120/2025
# (24 months for a first course, 36 for a second or later one, as reported; unverified) from 2026-07-01.
COURSES = [
    ("voluntary_community", 1990, 0, (6, 12), (24, 24)),
    ("voluntary_community", 2010, 0, (6, 12), (24, 24)),
    ("voluntary_community", 1990, 1, (6, 12), (36, 36)),
    ("voluntary_facility", 1990, 0, (6, 12), (24, 24)),
    ("voluntary_facility", 2010, 2, (6, 12), (36, 36)),
    ("compulsory", 1990, 0, (12, 24), (24, 24)),
    ("compulsory", 1990, 1, (12, 24), (36, 36)),
    ("compulsory", 2010, 0, (6, 12), (24, 24)),
    ("compulsory", 2010, 1, (6, 12), (36, 36)),
]


@pytest.mark.parametrize(("modality", "born", "earlier", "before", "after"), COURSES)
def test_course_length_by_modality_age_and_course_number_each_side_of_2026_07_01(
    modality: Modality, born: int, earlier: int, before: tuple[int, int], after: tuple[int, int]
) -> None:
    person = PersonFacts("p1", "07660", "addict", "male", born, True)
    for decided, (low, high) in ((date(2026, 6, 30), before), (date(2026, 7, 1), after)):
        for months, fits in ((low - 1, False), (low, True), (high, True), (high + 1, False)):
            args = (person, "p1", modality, "QD", decided, decided, months, None, "TA-1", RULES, TODAY, earlier)
            if fits:
                [event] = Case.enroll(*args)
                assert isinstance(event.event, CaseEnrolled) and event.event.course_number == earlier + 1
            else:
                with pytest.raises(RuleViolation) as refused:
                    Case.enroll(*args)
                assert refused.value.code == "duration_out_of_range"
