"""Submitted reports: the report of a period as known at a moment, its canonical bytes and hash, and the read model."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.apply import SWAP_LOCK, hold
from services.reporting.facts import current
from services.reporting.known import known_at
from services.reporting.periods import parse_period
from services.reporting.reports import Reports
from services.reporting.signature import Signature
from services.reporting.tables import submissions
from shared.kernel.events import Envelope
from shared.runtime.errors import AppError
from shared.vn.units import AdminUnits

log = logging.getLogger("rehab.reporting.submitted")


class IntegrityFailure(AppError):
    """A submitted report no longer reproduces to its hash: never served, always logged."""

    status, code = 500, "report_integrity_error"


def canonical(report: dict[str, Any]) -> bytes:
    """The one byte form of a report that is hashed and served: sorted keys, UTF-8, no spaces."""
    return json.dumps(report, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def as_known(
    conn: AsyncConnection,
    units: AdminUnits,
    unit_code: str,
    period: str,
    moment: datetime,
    submission_id: str | None = None,
) -> dict[str, Any]:
    """The periodic report of `period` (legal dates) on the facts recorded up to `moment` (recorded times), as
    they had reached reporting at the submission `submission_id` (its stragglers left out)."""
    await hold(conn, SWAP_LOCK)
    facts = await known_at(conn, await current(conn), moment, submission_id)
    return await Reports(conn, facts, units).periodic(unit_code, parse_period(period))


async def reproduce(conn: AsyncConnection, units: AdminUnits, row: Any) -> tuple[dict[str, Any], bytes]:
    """The submitted report again, checked against the hash stored with its submission event."""
    report = await as_known(conn, units, row.unit_code, row.period, row.known_at, row.submission_id)
    body = canonical(report)
    found = digest(body)
    if found != row.sha256:
        log.critical(
            "INTEGRITY: submission %s (%s %s, known at %s) reproduces to sha256 %s, not the %s it was submitted with",
            row.submission_id,
            row.unit_code,
            row.period,
            row.known_at.isoformat(),
            found,
            row.sha256,
        )
        raise IntegrityFailure(
            f"submission {row.submission_id} does not reproduce to its recorded hash; it is not served "
            "(bản gửi không tái tạo được đúng mã băm đã ghi; báo cáo không được cung cấp)",
            submission_id=row.submission_id,
        )
    return report, body


async def find(conn: AsyncConnection, submission_id: str) -> Any:
    return (await conn.execute(select(submissions).where(submissions.c.submission_id == submission_id))).first()


async def of_units(conn: AsyncConnection, codes: list[str], period: str) -> list[Any]:
    query = (
        select(submissions)
        .where(submissions.c.unit_code.in_(codes), submissions.c.period == period)
        .order_by(submissions.c.unit_code, submissions.c.number)
    )
    return list(await conn.execute(query))


async def project(conn: AsyncConnection, env: Envelope) -> None:
    """Keep report_submissions current with a report event, in the command's transaction."""
    p, actor = env.payload, env.actor.model_dump()
    if env.event_type == "report_submitted":
        await conn.execute(
            insert(submissions).values(
                submission_id=p["submission_id"],
                stream_id=env.stream_id,
                number=p["number"],
                unit_code=p["unit_code"],
                period=p["period"],
                known_at=datetime.fromisoformat(p["known_at"]),
                sha256=p["sha256"],
                status="submitted",
                submitted_on=env.occurred_on,
                submitted_at=env.recorded_at,
                submitted_by=actor,
                document_number=p["document_number"],
            )
        )
        return
    status = {"report_returned": "returned", "report_approved": "approved", "report_reopened": "reopened"}
    values: dict[str, Any] = {"status": status[env.event_type]}
    if env.event_type != "report_reopened":  # the approval stays on the approved submission's files
        values.update(reviewed_at=env.recorded_at, reviewed_by=actor, review_document_number=p["document_number"])
    await conn.execute(update(submissions).where(submissions.c.submission_id == p["submission_id"]).values(values))


def signature(row: Any, unit_name: str) -> Signature:
    return Signature(
        submission_id=row.submission_id,
        unit_code=row.unit_code,
        unit_name=unit_name,
        period=row.period,
        status=row.status,
        sha256=row.sha256,
        submitted_at=row.submitted_at,
        submitted_by=row.submitted_by,
        document_number=row.document_number,
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
    )


def summary(row: Any) -> dict[str, Any]:
    """A submission as lists show it."""
    return {
        "submission_id": row.submission_id,
        "number": row.number,
        "unit_code": row.unit_code,
        "period": row.period,
        "status": row.status,
        "sha256": row.sha256,
        "known_at": row.known_at.isoformat(),
        "submitted_on": row.submitted_on.isoformat(),
        "submitted_at": row.submitted_at.isoformat(),
        "submitted_by": row.submitted_by,
        "document_number": row.document_number,
        "reviewed_at": row.reviewed_at.isoformat() if row.reviewed_at else None,
        "reviewed_by": row.reviewed_by,
    }
