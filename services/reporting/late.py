"""Changes since submission: the events recorded after a report was submitted that change its numbers.

The report's indicators are computed on the facts as known at the submission; then, for each stream (case,
person, plan) with events recorded later (or recorded before but delivered after it), on those facts with that one
stream brought up to date. What differs is that stream's contribution: which case, which indicator, by how much.
The totals compare with the live report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.facts import current
from services.reporting.known import describe, known_at, later, stream_kind, with_stream_now
from services.reporting.periods import parse_period
from services.reporting.reports import Reports
from shared.vn.units import AdminUnits

KEY = {"case": "case_id", "person": "person_id", "plan": "plan"}
MOST_STREAMS = 500  # attribution costs one indicator computation per stream; beyond this, totals only


async def changes(conn: AsyncConnection, units: AdminUnits, row: Any) -> dict[str, Any]:
    """What changed the submission `row`'s numbers since it was submitted, stream by stream, and in total."""
    period = parse_period(row.period)
    live = await current(conn)
    then = await known_at(conn, live, row.known_at, row.submission_id)
    submitted = await Reports(conn, then, units).indicators(row.unit_code, period)
    late = await later(conn, live, row.known_at, row.submission_id)
    items = []
    for stream_id, envelopes in list(late.items())[:MOST_STREAMS]:
        savepoint = await conn.begin_nested()
        try:
            await with_stream_now(conn, live, then, stream_id)
            changed = await Reports(conn, then, units).indicators(row.unit_code, period)
        finally:
            await savepoint.rollback()
        deltas = diff(submitted, changed)
        if deltas:
            kind = stream_kind(envelopes)
            items.append(
                {
                    KEY[kind]: stream_id,
                    "stream_id": stream_id,
                    "kind": kind,
                    "events": [describe(e) for e in envelopes],
                    "indicators": deltas,
                }
            )
    now = await Reports(conn, live, units).indicators(row.unit_code, period)
    return {
        "submission_id": row.submission_id,
        "unit_code": row.unit_code,
        "period": row.period,
        "known_at": row.known_at.isoformat(),
        "events_recorded_since": sum(len(e) for e in late.values()),
        "streams_recorded_since": len(late),
        "attributed": len(late) <= MOST_STREAMS,
        "changes": items,
        "totals": diff(submitted, now),
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Every number of every indicator that differs: value, and counts such as completers or covered."""
    out = []
    was = {i["indicator"]: i for i in before["indicators"]}
    for item in after["indicators"]:
        old = was.get(item["indicator"], {})
        for name, value in item.items():
            if not _number(value) and not _number(old.get(name)):
                continue
            if old.get(name) == value:
                continue
            delta = value - old[name] if _number(value) and _number(old.get(name)) else None
            out.append(
                {
                    "indicator": item["indicator"],
                    "field": name,
                    "submitted": old.get(name),
                    "now": value,
                    "delta": round(delta, 4) if isinstance(delta, float) else delta,
                }
            )
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
