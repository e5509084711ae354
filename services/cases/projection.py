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

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from services.cases.domain.case import OPEN_STATES, Case, PersonFacts
from services.cases.domain.events import (
    CASE_EVENTS,
    CaseCompleted,
    CaseDroppedOut,
    CaseEnrolled,
    CaseTerminated,
    CaseTransferred,
    DrugTestRecorded,
    ElectronicMonitoringEnded,
    ElectronicMonitoringOrdered,
    MoveNoticeSent,
    MoveReported,
    PostRehabEnded,
    PostRehabStarted,
    RelapseRecorded,
)
from services.cases.domain.rules import RuleBook, rulebook
from services.cases.tables import case_moves, cases, directory, drug_tests, monitoring_orders
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
        "positive_test_on": case.positive_test_on,
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


def duty_rows(
    case_id: str, history: Sequence[Envelope], notes: Mapping[UUID, Notes], rules: RuleBook
) -> dict[str, list[dict[str, Any]]]:
    """The rows of the case's duties: drug tests, the moves of post-rehab management with their deadlines (from
    the rule set in force on the day of the move), electronic monitoring orders with who ordered them."""
    tests: list[dict[str, Any]] = []
    moves: dict[int, dict[str, Any]] = {}
    orders: dict[int, dict[str, Any]] = {}
    case = Case(case_id)  # replayed alongside: a move brings duties when it happens under post-rehab management
    for env in history:
        event = CASE_EVENTS.decode(env)
        match event:
            case CaseTransferred() if case.state == "post_rehab":
                ruleset = rules.on(env.occurred_on)
                moves[env.stream_version] = {
                    "case_id": case_id,
                    "version": env.stream_version,
                    "person_id": case.person_id,
                    "from_commune": event.from_commune,
                    "to_commune": event.to_commune,
                    "moved_on": env.occurred_on,
                    "notice_due_on": ruleset.move_notice_due(env.occurred_on),
                    "noticed_on": None,
                    "report_due_on": ruleset.move_report_due(env.occurred_on),
                    "reported_on": None,
                    "rules_from": ruleset.valid_from,
                }
            case MoveNoticeSent():
                moves[event.move]["noticed_on"] = env.occurred_on
            case MoveReported():
                moves[event.move]["reported_on"] = env.occurred_on
            case DrugTestRecorded():
                facility = notes.get(env.event_id, {}).get("facility")
                tests.append(
                    {
                        "case_id": case_id,
                        "version": env.stream_version,
                        "tested_on": event.tested_on,
                        "result": event.result,
                        "during": event.during,
                        "facility": facility,
                    }
                )
            case ElectronicMonitoringOrdered():
                orders[env.stream_version] = {
                    "case_id": case_id,
                    "version": env.stream_version,
                    "ordered_by": env.actor.sub,
                    "ordered_by_unit": env.actor.unit,
                    "ordered_on": event.ordered_on,
                    "starts_on": event.starts_on,
                    "ends_on": event.ends_on,
                    "ended_on": None,
                }
            case ElectronicMonitoringEnded():
                orders[event.order]["ended_on"] = env.occurred_on
        case.apply(event, env.occurred_on, env.unit_code)
    return {"drug_tests": tests, "case_moves": list(moves.values()), "monitoring_orders": list(orders.values())}


DUTY_TABLES = {"drug_tests": drug_tests, "case_moves": case_moves, "monitoring_orders": monitoring_orders}


async def project(
    conn: AsyncConnection,
    case_id: str,
    history: Sequence[Envelope],
    rules: RuleBook | None = None,
    fresh: bool = False,
) -> None:
    """Upsert the case's row and rewrite its duties' rows from its whole history (a few events: cheap, exact).

    `fresh`: the case was opened in this transaction under a new id, so it has no duty rows to delete yet.
    """
    notes = await load_notes(conn, [e.event_id for e in history])
    await _upsert(conn, case_row(case_id, history, notes))
    for name, rows in duty_rows(case_id, history, notes, rules or rulebook()).items():
        table = DUTY_TABLES[name]
        if not fresh:
            await conn.execute(delete(table).where(table.c.case_id == case_id))
        if rows:
            await conn.execute(insert(table), rows)


_UPSERTS: dict[frozenset[str], Any] = {}


async def _upsert(conn: AsyncConnection, row: dict[str, Any]) -> None:
    """Insert the case's row, or set the columns `row` has (the others keep what they hold).

    One statement per set of columns, built once: the values go as parameters, so the statement is compiled once
    too, instead of a new statement of two bound values per column at every command.
    """
    columns = frozenset(row)
    statement = _UPSERTS.get(columns)
    if statement is None:
        insert_row = upsert(cases)
        statement = _UPSERTS[columns] = insert_row.on_conflict_do_update(
            index_elements=[cases.c.case_id], set_={c: insert_row.excluded[c] for c in sorted(columns)}
        )
    await conn.execute(statement, row)


_PERSON: BindParameter[str] = bindparam("person_id", type_=directory.c.person_id.type)
_OPEN = select(cases.c.case_id, cases.c.state).where(cases.c.person_id == _PERSON, cases.c.state.in_(OPEN_STATES))
_ENROLLING = select(
    directory,
    _OPEN.with_only_columns(cases.c.case_id).limit(1).scalar_subquery().label("open_case_id"),
    _OPEN.with_only_columns(cases.c.state).limit(1).scalar_subquery().label("open_state"),
    select(func.count())
    .where(cases.c.person_id == _PERSON, cases.c.modality != "methadone")
    .scalar_subquery()
    .label("earlier"),
).where(directory.c.person_id == _PERSON)


class SqlCaseViews:
    """The cases service's read side in PostgreSQL: the person directory, open cases, the `cases` row."""

    async def enrolling(
        self, conn: AsyncConnection, person_id: str
    ) -> tuple[PersonFacts | None, tuple[str, str] | None, int]:
        """The person's directory row, open case and earlier courses of rehab in one statement (one round trip)."""
        row = (await conn.execute(_ENROLLING, {"person_id": person_id})).first()
        if row is None:
            return None, None, 0
        person = PersonFacts(
            row.person_id, row.commune_code, row.status, row.sex, row.birth_year, row.on_record, row.unit_on
        )
        open_case = None if row.open_case_id is None else (str(row.open_case_id), row.open_state)
        return person, open_case, int(row.earlier or 0)

    async def open_case(self, conn: AsyncConnection, person_id: str) -> tuple[str, str] | None:
        query = select(cases.c.case_id, cases.c.state).where(
            cases.c.person_id == person_id, cases.c.state.in_(OPEN_STATES)
        )
        row = (await conn.execute(query)).first()
        return None if row is None else (str(row.case_id), row.state)

    async def project(
        self, conn: AsyncConnection, case_id: str, history: Sequence[Envelope], fresh: bool = False
    ) -> None:
        await project(conn, case_id, history, fresh=fresh)
