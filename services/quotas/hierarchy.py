"""Which GSO unit a plan of a given year can name: units exist only in the years their catalogue edition covers."""

from __future__ import annotations

from shared.kernel.rules import RuleViolation
from shared.vn.units import AdminUnits, Unit, UnknownUnitError

FIRST_YEAR, LAST_YEAR = 2000, 2100
REFORM_YEAR = 2025  # the 3-level catalogue holds until 2025-06-30, the 2-level one from 2025-07-01


def unit_for_year(units: AdminUnits, code: str, year: int, field: str = "unit_code") -> Unit:
    """The unit `code` names in `year`, or a 422 saying why a plan of that year cannot name it."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise RuleViolation("bad_year", f"year {year} is out of range", f"năm {year} không hợp lệ", "invalid", "year")
    for edition, fits in (("2024", year <= REFORM_YEAR), ("2025", year >= REFORM_YEAR)):
        if fits:
            try:
                return units.get(code, edition=edition)  # type: ignore[arg-type]
            except UnknownUnitError:
                continue
    if units.exists(code):
        if year < REFORM_YEAR:
            en = f"unit {code} only exists from 2025-07-01; a {year} plan must name the units of {year}"
            vi = f"đơn vị {code} chỉ có từ 01/07/2025; kế hoạch năm {year} phải dùng đơn vị hành chính năm {year}"
        else:
            en = f"unit {code} was dissolved on 2025-07-01 and has no plan in {year}"
            vi = f"đơn vị {code} đã giải thể từ 01/07/2025, không có kế hoạch năm {year}"
        raise RuleViolation("unit_not_in_year", en, vi, "invalid", field)
    raise RuleViolation(
        "unknown_unit", f"unknown unit code {code}", f"mã đơn vị {code} không có trong danh mục", "invalid", field
    )
