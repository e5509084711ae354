"""The `cases` read model: one row per case, folded from the case's events, written in the append's transaction.

The facility, the reasons and the mentor officials look up are event notes (shared/kernel/notes.py): this service's
own text, read beside the events and never published.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.cases.domain.case import OPEN_STATES, Case, PersonFacts
from services.cases.domain.events import (
    CASE_EVENTS,
    CaseCompleted,
    CaseDroppedOut,
    CaseEnrolled,
    CaseTerminated,
    PostRehabEnded,
    PostRehabStarted,
    RelapseRecorded,
)
from services.cases.tables import cases, directory
from shared.kernel.events import Envelope
from shared.kernel.notes import Notes, load_notes, with_legacy
from shared.vn.units import admin_units

TEXT_FIELDS = ("facility", "reason", "mentor")  # what v1 payloads carried as typed


def case_of(case_id: str, history: Sequence[Envelope]) -> Case:
    """The aggregate as of its last event."""
    return Case.from_history(case_id, ((CASE_EVENTS.decode(e), e.occurred_on, e.unit_code) for e in history))


def unit_since(history: Sequence[Envelope]) -> date:
    """The legal date the case's unit code was recorded: its enrolment, or the transfer that gave it its unit now."""
    since = history[0].occurred_on
    for before, env in pairwise(history):
        if env.unit_code != before.unit_code:
            since = env.occurred_on
    return since


def case_row(case_id: str, history: Sequence[Envelope], notes: Mapping[UUID, Notes]) -> dict[str, Any]:
    """The read-model row of a case: its state plus the decision details officials look up.

    Its unit stays as recorded; `unit_now` is today's unit responsible for it, from the catalogue (a rebuild
    gives the same), which every area check reads.
    """
    case = case_of(case_id, history)
    unit_on = unit_since(history)
    row: dict[str, Any] = {
        "case_id": case_id,
        "person_id": case.person_id,
        "commune_code": case.commune_code,
        "unit_now": admin_units().unit_now_or_code(case.commune_code, unit_on),
        "unit_on": unit_on,
        "modality": case.modality,
        "state": case.state,
        "version": case.version,
        "planned_end": case.planned_end,
        "absconded_on": case.absconded_on,
        "absconded_days": case.absconded_days,
        "completed_on": case.completed_on,
        "closed_on": case.closed_on,
        "updated_at": datetime.now(UTC),
    }
    for env in history:
        event, text = CASE_EVENTS.decode(env), with_legacy(env, notes, TEXT_FIELDS)
        match event:
            case CaseEnrolled():
                row |= event.model_dump(exclude={"person_id", "modality"})
                row["facility"] = text.get("facility")
            case CaseCompleted():
                row["certificate_number"] = event.certificate_number
            case PostRehabStarted():
                row |= {
                    "post_rehab_decision_number": event.decision_number,
                    "post_rehab_decided_on": event.decided_on,
                    "post_rehab_starts_on": event.starts_on,
                    "post_rehab_months": event.months,
                    "post_rehab_ends_on": event.ends_on,
                    "mentor": text.get("mentor"),
                }
            case PostRehabEnded():
                row["post_rehab_certificate_number"] = event.certificate_number
            case CaseDroppedOut() | CaseTerminated():
                row["close_reason"] = text.get("reason", "")
            case RelapseRecorded():
                row["relapsed_on"] = env.occurred_on
    return row


async def project(conn: AsyncConnection, case_id: str, history: Sequence[Envelope]) -> None:
    """Upsert the case's row from its whole history (a few events: cheap, and always exact)."""
    await _upsert(conn, case_row(case_id, history, await load_notes(conn, [e.event_id for e in history])))


async def _upsert(conn: AsyncConnection, row: dict[str, Any]) -> None:
    statement = insert(cases).values(row)
    await conn.execute(statement.on_conflict_do_update(index_elements=[cases.c.case_id], set_=row))


class SqlCaseViews:
    """The cases service's read side in PostgreSQL: the person directory, open cases, the `cases` row."""

    async def person(self, conn: AsyncConnection, person_id: str) -> PersonFacts | None:
        row = (await conn.execute(select(directory).where(directory.c.person_id == person_id))).first()
        if row is None:
            return None
        return PersonFacts(
            row.person_id, row.commune_code, row.status, row.sex, row.birth_year, row.on_record, row.unit_on
        )

    async def open_case(self, conn: AsyncConnection, person_id: str) -> tuple[str, str] | None:
        query = select(cases.c.case_id, cases.c.state).where(
            cases.c.person_id == person_id, cases.c.state.in_(OPEN_STATES)
        )
        row = (await conn.execute(query)).first()
        return None if row is None else (str(row.case_id), row.state)

    async def earlier_courses(self, conn: AsyncConnection, person_id: str) -> int:
        query = select(func.count()).where(cases.c.person_id == person_id, cases.c.modality != "methadone")
        return int(await conn.scalar(query) or 0)

    async def project(self, conn: AsyncConnection, case_id: str, history: Sequence[Envelope]) -> None:
        await project(conn, case_id, history)
