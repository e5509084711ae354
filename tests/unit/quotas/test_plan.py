"""The Plan aggregate and the hierarchy rule, without I/O."""

from __future__ import annotations

from datetime import date

import pytest

from services.quotas.domain.events import PlanIssued, PlanRevised, Target
from services.quotas.domain.plan import Allocation, Plan, check_children_fit
from services.quotas.hierarchy import unit_for_year
from shared.kernel.rules import RuleViolation
from shared.vn.units import admin_units


def test_issue_then_revise_and_an_identical_document_changes_nothing() -> None:
    plan = Plan(2024, "220")
    [issued] = plan.set({"compulsory": 5}, [], "KH-1", None, date(2024, 1, 15))
    assert isinstance(issued.event, PlanIssued)
    plan.apply(issued.event)
    assert plan.set({"compulsory": 5}, [], "KH-1 again", None, date(2024, 2, 1)) == []
    [revised] = plan.set(
        {"compulsory": 6}, [Target(indicator="x", comparison=">=", value=1)], "QĐ-2", None, date(2024, 6, 1)
    )
    assert isinstance(revised.event, PlanRevised) and revised.event.revision == 2


def test_children_may_not_hold_more_than_the_parent() -> None:
    children = [
        Allocation("07616", "Thị trấn Tây Yên Tử", {"compulsory": 1}),
        Allocation("07627", "Xã Đại Sơn", {"compulsory": 1, "voluntary_community": 3}),
    ]
    check_children_fit("220", "Huyện Sơn Động", {"compulsory": 2, "voluntary_community": 3}, children)
    with pytest.raises(RuleViolation) as refused:
        check_children_fit("220", "Huyện Sơn Động", {"compulsory": 1}, children)
    assert refused.value.message == (
        "the units under Huyện Sơn Động (220) would hold 2 compulsory places"
        " (Thị trấn Tây Yên Tử (07616) 1, Xã Đại Sơn (07627) 1) but its quota is 1"
    )


@pytest.mark.parametrize(
    ("code", "year", "code_expected"),
    [
        ("220", 2024, None),
        ("220", 2026, "unit_not_in_year"),
        ("03980", 2023, "unit_not_in_year"),
        ("03980", 2026, None),
        ("99999", 2024, "unknown_unit"),
        ("07616", 1990, "bad_year"),
    ],
)
def test_units_exist_only_in_their_years(code: str, year: int, code_expected: str | None) -> None:
    try:
        unit_for_year(admin_units(), code, year)
    except RuleViolation as refused:
        assert refused.code == code_expected
        return
    assert code_expected is None
