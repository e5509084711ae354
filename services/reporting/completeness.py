"""The province's view of a period: which communes submitted, when, on time or late, and the consolidation.

A commune that did not submit is listed as such and left out of the sums (never counted as zero). The
consolidation is built from the approved reports only, each reproduced and checked against its hash.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.calendar import deadline
from services.reporting.periods import parse_period
from services.reporting.submitted import of_units, reproduce, summary
from shared.vn.units import AdminUnits

RATIOS = {  # a ratio of a sum is the sum of its parts divided, never a sum of ratios
    "post_rehab_management_coverage": ("covered", "completers"),
    "share_of_recorded_users_reaching_services": ("served", "on_record"),
    "share_of_managed_addicts_not_in_treatment_who_register": ("enrolled", "addicts_not_in_treatment_at_start"),
}


async def completeness(conn: AsyncConnection, units: AdminUnits, province: str, period: str) -> dict[str, Any]:
    span = parse_period(period)
    due = deadline(span)
    communes = units.children(province, "2025")
    rows = await of_units(conn, [c.code for c in communes], span.label)
    by_unit: dict[str, list[Any]] = {}
    for row in rows:
        by_unit.setdefault(row.unit_code, []).append(row)
    table, approved = [], []
    for commune in communes:
        history = by_unit.get(commune.code, [])
        if not history:
            table.append({"unit_code": commune.code, "unit_name": commune.name, "submitted": False, "status": None})
            continue
        first, latest = history[0], history[-1]
        late_days = (first.submitted_on - due.due).days if due else None
        table.append(
            {
                "unit_code": commune.code,
                "unit_name": commune.name,
                "submitted": True,
                "status": latest.status,
                "first_submitted_on": first.submitted_on.isoformat(),
                "on_time": None if late_days is None else late_days <= 0,
                "days_late": None if late_days is None else max(late_days, 0),
                "submissions": len(history),
                "latest": summary(latest),
            }
        )
        if latest.status == "approved":
            report, _ = await reproduce(conn, units, latest)
            approved.append((latest, report))
    missing = [t["unit_code"] for t in table if not t["submitted"]]
    return {
        "unit_code": province,
        "unit_name": units.get(province, edition="2025").name,
        "period": span.label,
        **(due.header() if due else {"deadline": None}),
        "communes": table,
        "counts": {
            "communes": len(table),
            "submitted": len(table) - len(missing),
            "approved": len(approved),
            "not_submitted": len(missing),
        },
        "not_submitted": missing,
        "consolidation": {
            "from_approved": [{"unit_code": r.unit_code, "submission_id": r.submission_id} for r, _ in approved],
            "indicators": consolidate([report for _, report in approved]),
        },
    }


def consolidate(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Indicators summed over `reports`: counts added, ratios recomputed from their summed parts."""
    sums: dict[str, dict[str, Any]] = {}
    for report in reports:
        for item in report["indicators"]:
            into = sums.setdefault(item["indicator"], {"indicator": item["indicator"]})
            for name, value in item.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    into[name] = into.get(name, 0) + value
    out = []
    for name, item in sums.items():
        if name in RATIOS:
            part, whole = (item.get(k, 0) for k in RATIOS[name])
            item["value"] = round(part / whole, 4) if whole else None
        elif "quota" in item:
            item["attainment"] = round(item["value"] / item["quota"], 4) if item["quota"] else None
        out.append(item)
    return out
