"""Reports are answered with orjson (issue 20): the same bytes Starlette's JSONResponse writes, faster."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from services.reporting.api import ReportJSON

REPORT = {
    "report": "periodic",
    "unit_name": "Thành phố Hồ Chí Minh",
    "period": "2026-H1",
    "ratio": 0.8333,
    "tiny": 0.0001,
    "none": None,
    "flags": [True, False],
    "counts": {"compulsory": 12, "methadone": 0},
    "rows": [{"case_id": "01900000-0000-7000-8000-000000000001", "completed_on": "2026-06-30", "days": -3}],
    "text": 'quote " backslash \\ tab \t newline \n control \u0001 emoji 🙂',
}


def test_a_report_is_written_byte_for_byte_as_starlette_would() -> None:
    assert ReportJSON(REPORT).body == JSONResponse(REPORT).body
    assert ReportJSON(REPORT).headers["content-type"] == "application/json"
