"""The duties of issue 16 item 7 as the Case decides them: drug tests, the notices and reports of moves, electronic
monitoring; with the rules on both sides of 2026-07-01 where they differ."""

from __future__ import annotations

from datetime import date

import holidays
import pytest

from services.cases.domain.case import Case
from services.cases.domain.events import DrugTestRecorded, ElectronicMonitoringOrdered, MoveNoticeSent
from services.cases.domain.rules import Modality
from shared.kernel.rules import RuleViolation
from tests.unit.cases.test_case import RULES, TODAY, enrolled, replay, step


def managed() -> Case:
    """Under post-rehab management from 2025-07-15 to 2026-07-15 (12 months after voluntary rehab)."""
    case = step(enrolled("voluntary_community", 6, date(2025, 1, 10)), "complete", date(2025, 7, 10))
    return step(case, "start_post_rehab", date(2025, 7, 15))


def refused(action: object) -> str:
    with pytest.raises(RuleViolation) as refusal:
        action()  # type: ignore[operator]
    return refusal.value.code


# --- drug tests --------------------------------------------------------------------------------------------


def test_a_positive_test_during_post_rehab_awaits_a_decision_and_does_not_close_the_case() -> None:
    case = managed()
    [pending] = case.record_drug_test(date(2025, 9, 1), "positive", "Trạm y tế xã", TODAY)
    assert pending.event == DrugTestRecorded(
        tested_on=date(2025, 9, 1), result="positive", during="post_rehab", facility_named=True
    )
    assert pending.notes == {"facility": "Trạm y tế xã"}  # the facility's name never reaches the payload
    replay(case, [pending])
    assert case.state == "post_rehab" and case.positive_test_on == date(2025, 9, 1)
    replay(case, case.record_drug_test(date(2025, 9, 8), "positive", None, TODAY))
    assert case.positive_test_on == date(2025, 9, 1)  # waiting since the first one
    relapsed = step(case, "relapse", date(2025, 9, 20))
    assert relapsed.state == "relapsed" and relapsed.positive_test_on is None


def test_a_relapse_ruled_out_takes_the_case_off_the_list_and_management_goes_on() -> None:
    case = managed()
    replay(case, case.record_drug_test(date(2025, 9, 1), "positive", None, TODAY))
    [pending] = case.rule_out_relapse(date(2025, 9, 5), "xác định không nghiện", TODAY)
    assert pending.notes == {"reason": "xác định không nghiện"}
    replay(case, [pending])
    assert case.state == "post_rehab" and case.positive_test_on is None
    assert refused(lambda: case.rule_out_relapse(date(2025, 9, 6), "", TODAY)) == "no_positive_test"


def test_negative_tests_and_tests_in_treatment_leave_nothing_to_decide() -> None:
    case = managed()
    replay(case, case.record_drug_test(date(2025, 9, 1), "negative", None, TODAY))
    assert case.positive_test_on is None
    treated = enrolled("voluntary_community", 6, date(2025, 1, 10))
    [pending] = treated.record_drug_test(date(2025, 2, 1), "positive", None, TODAY)
    assert isinstance(pending.event, DrugTestRecorded) and pending.event.during == "treatment"
    assert replay(treated, [pending]).positive_test_on is None


@pytest.mark.parametrize("before", [["complete"], ["complete", "start_post_rehab", "end_post_rehab"], ["terminate"]])
def test_a_drug_test_is_refused_outside_treatment_and_post_rehab_management(before: list[str]) -> None:
    case = enrolled("voluntary_community", 6, date(2025, 1, 10))
    for day, name in enumerate(before):
        case = step(case, name, date(2025, 7, 10 + day))
    assert refused(lambda: case.record_drug_test(date(2025, 8, 1), "negative", None, TODAY)) == "invalid_transition"
    assert (
        refused(lambda: managed().record_drug_test(date(2025, 7, 1), "negative", None, TODAY)) == "dates_out_of_order"
    )


# --- moves ---------------------------------------------------------------------------------------------------


def moved(case: Case, on: date, to: str = "07660") -> Case:
    return replay(case, case.transfer(to, on))


def test_only_a_move_under_post_rehab_management_owes_a_notice() -> None:
    assert moved(enrolled("voluntary_community", 6, date(2025, 1, 10)), date(2025, 3, 1)).moves == []
    case = moved(managed(), date(2025, 10, 1))
    [move] = case.moves
    assert (move.from_commune, move.to_commune, move.moved_on, move.version) == ("07616", "07660", date(2025, 10, 1), 4)


def test_the_notice_and_the_report_of_a_move() -> None:
    case = moved(managed(), date(2025, 10, 1))
    assert refused(lambda: case.notify_move(None, date(2025, 9, 30), TODAY)) == "dates_out_of_order"
    assert refused(lambda: case.notify_move(9, date(2025, 10, 2), TODAY)) == "unknown_move"
    [pending] = case.notify_move(None, date(2025, 10, 3), TODAY)
    assert pending.event == MoveNoticeSent(move=4, moved_on=date(2025, 10, 1), from_commune="07616", to_commune="07660")
    assert pending.unit_code == "07660"  # the case's commune now; the sender is in the payload
    replay(case, [pending])
    assert case.moves[0].noticed_on == date(2025, 10, 3)
    assert refused(lambda: case.notify_move(4, date(2025, 10, 4), TODAY)) == "already_recorded"
    replay(case, case.report_move(4, date(2025, 10, 2), TODAY))  # the report may be dated before the notice
    assert case.moves[0].reported_on == date(2025, 10, 2)
    assert refused(lambda: Case("x").notify_move(None, date(2025, 10, 3), TODAY)) == "unknown_case"


def test_a_case_without_a_managed_move_has_no_notice_to_record() -> None:
    assert refused(lambda: managed().notify_move(None, date(2025, 10, 3), TODAY)) == "unknown_move"


@pytest.mark.parametrize(
    ("moved_on", "rules_from", "notice_due", "report_due"),
    [
        # Law 73/2021 Art. 43(2): 5 working days; Tết 2026 (16-20 February) does not count
        (date(2026, 2, 13), date(2022, 1, 1), date(2026, 2, 27), None),
        (date(2026, 6, 30), date(2022, 1, 1), date(2026, 7, 7), None),
        # Law 120/2025 (press, unverified): 24 hours for the police's notice and for the person's report
        (date(2026, 7, 1), date(2026, 7, 1), date(2026, 7, 2), date(2026, 7, 2)),
        (date(2026, 8, 28), date(2026, 7, 1), date(2026, 8, 29), date(2026, 8, 29)),  # hours run on a Saturday
    ],
)
def test_move_deadlines_follow_the_rules_in_force_on_the_move_date(
    moved_on: date, rules_from: date, notice_due: date, report_due: date | None
) -> None:
    ruleset = RULES.on(moved_on)
    assert ruleset.valid_from == rules_from
    assert ruleset.move_notice_due(moved_on) == notice_due
    assert ruleset.move_report_due(moved_on) == report_due


def test_the_tet_days_of_the_notice_come_from_the_holiday_library() -> None:
    off = holidays.country_holidays("VN", years=2026)
    assert all(date(2026, 2, day) in off for day in range(16, 21))


# --- electronic monitoring ----------------------------------------------------------------------------------


def test_electronic_monitoring_exists_only_from_2026_07_01() -> None:
    case = managed()
    ordered = lambda on: case.order_monitoring(on, on, date(2027, 6, 30), RULES, TODAY)  # noqa: E731
    assert refused(lambda: ordered(date(2026, 6, 30))) == "monitoring_not_in_force"
    [pending] = ordered(date(2026, 7, 1))
    assert pending.event == ElectronicMonitoringOrdered(
        ordered_on=date(2026, 7, 1), starts_on=date(2026, 7, 1), ends_on=date(2027, 6, 30)
    )
    assert RULES.on(date(2026, 6, 30)).electronic_monitoring is False
    assert RULES.on(date(2026, 7, 1)).electronic_monitoring is True


@pytest.mark.parametrize(
    ("modality", "expected"),
    [
        ("voluntary_community", None),
        ("methadone", None),
        ("voluntary_facility", "monitoring_not_applicable"),
        ("compulsory", "monitoring_not_applicable"),
    ],
)
def test_electronic_monitoring_in_treatment_only_at_home_or_on_methadone(modality: Modality, expected: str) -> None:
    months = {"voluntary_community": 24, "voluntary_facility": 24, "compulsory": 24, "methadone": None}[modality]
    case = enrolled(modality, months, date(2026, 7, 2))
    order = lambda: case.order_monitoring(date(2026, 8, 1), date(2026, 8, 1), date(2027, 8, 1), RULES, TODAY)  # noqa: E731
    if expected is None:
        assert len(order()) == 1
    else:
        assert refused(order) == expected


def test_one_order_at_a_time_and_its_end() -> None:
    case = managed()
    replay(case, case.order_monitoring(date(2026, 7, 1), date(2026, 7, 2), date(2026, 7, 14), RULES, TODAY))
    again = lambda on: case.order_monitoring(on, on, date(2026, 7, 15), RULES, TODAY)  # noqa: E731
    assert refused(lambda: again(date(2026, 7, 3))) == "monitoring_running"
    replay(case, case.end_monitoring(date(2026, 7, 5), TODAY))
    assert case.monitoring is not None and case.monitoring.ended_on == date(2026, 7, 5)
    assert refused(lambda: case.end_monitoring(date(2026, 7, 6), TODAY)) == "no_monitoring"
    assert refused(
        lambda: case.order_monitoring(date(2026, 7, 6), date(2026, 7, 5), date(2026, 7, 9), RULES, TODAY)
    ) == ("dates_out_of_order")
    assert len(again(date(2026, 7, 6))) == 1  # after the end, a new order


def test_an_order_that_ran_its_term_cannot_be_ended() -> None:
    case = managed()
    replay(case, case.order_monitoring(date(2026, 7, 1), date(2026, 7, 1), date(2026, 7, 5), RULES, TODAY))
    assert refused(lambda: case.end_monitoring(date(2026, 7, 6), TODAY)) == "no_monitoring"
