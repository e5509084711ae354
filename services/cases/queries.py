"""Reads of the cases read model: one case, searches, and the deadlines officials are missing today.

Every read that shows a person's case is audited: one entry per case shown, with its person (shared/runtime/audit.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.cases.domain.rules import DEADLINE_RULES, MOVE_RULES, RuleBook, rules_unverified
from services.cases.policy import case_actions
from services.cases.schemas import CaseOut, CasePage, DrugTestOut, MonitoringOut, MoveOut
from services.cases.tables import case_moves, cases, drug_tests, monitoring_orders
from shared.kernel.events import HistoryEntry
from shared.kernel.repository import EventStorePort
from shared.runtime.area import area_conditions, codes_in_area
from shared.runtime.audit import read_trail, record, record_shown
from shared.runtime.auth import Principal, sees
from shared.runtime.errors import NotFound
from shared.vn.units import AdminUnits


def _area(units: AdminUnits, who: Principal, unit_code: str | None) -> list[Any]:
    """Conditions restricting rows to `unit_code` (default: the caller's unit), which must be in the caller's area.

    By today's hierarchy: a case recorded in a commune merged on 2025-07-01 is its successor's (`unit_now`); an
    abolished unit's account sees the cases recorded inside it before (shared/runtime/area.py).
    """
    c = cases.c
    return area_conditions(who, units, unit_code, code=c.commune_code, now=c.unit_now, on=c.unit_on)


async def read_case(
    conn: AsyncConnection, units: AdminUnits, store: EventStorePort, who: Principal, case_id: str
) -> CaseOut:
    """One case with its moves, tests, orders, its history and the steps the caller may record now (audited)."""
    row = (await conn.execute(select(cases).where(cases.c.case_id == case_id))).first()
    if row is None or not sees(who, units, row.commune_code, row.unit_on):
        raise NotFound(f"no case {case_id} in your area ({who.unit})")
    await record(conn, who, "read_case", str(row.person_id), row.commune_code, case_id=case_id)
    mine = {"case_id": case_id}
    tests = await conn.execute(select(drug_tests).filter_by(**mine).order_by(drug_tests.c.version))
    moves = await conn.execute(select(case_moves).filter_by(**mine).order_by(case_moves.c.version))
    orders = await conn.execute(select(monitoring_orders).filter_by(**mine).order_by(monitoring_orders.c.version))
    move_list = [MoveOut.model_validate({**m._mapping, "move": m.version}) for m in moves]
    owed = (
        any(m.noticed_on is None and m.notice_due_on is not None for m in move_list),
        any(m.reported_on is None and m.report_due_on is not None for m in move_list),
    )
    return _out(row._mapping).model_copy(
        update={
            "drug_tests": [DrugTestOut.model_validate(t._mapping) for t in tests],
            "moves": move_list,
            "monitoring": [MonitoringOut.model_validate({**o._mapping, "order": o.version}) for o in orders],
            "history": [HistoryEntry.of(env) for env in await store.load(conn, case_id)],
            "actions": case_actions(who, row.modality, row.state, owed),
        }
    )


async def search_cases(
    conn: AsyncConnection,
    units: AdminUnits,
    who: Principal,
    person_id: str | None,
    commune_code: str | None,
    state: str | None,
    page: int,
    page_size: int,
) -> CasePage:
    conditions = _area(units, who, commune_code)
    if person_id:
        conditions.append(cases.c.person_id == person_id)
    if state:
        conditions.append(cases.c.state == state)
    total = await conn.scalar(select(func.count()).select_from(cases).where(*conditions))
    rows = await conn.execute(
        select(cases)
        .where(*conditions)
        .order_by(cases.c.started_on, cases.c.case_id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    items = [_out(r._mapping) for r in rows]
    query = {"person_id": person_id, "commune_code": commune_code, "state": state, "page": page}
    await record_shown(conn, who, "search_cases", _shown(items), commune_code or who.unit, query=query)
    return CasePage(items=items, page=page, page_size=page_size, total=int(total or 0))


async def deadlines(
    conn: AsyncConnection,
    units: AdminUnits,
    rules: RuleBook,
    who: Principal,
    unit_code: str | None,
    as_of: date,
    shown: bool = True,
) -> dict[str, Any]:
    """The lists of what is due or overdue on `as_of`, each item with its days; the persons shown are audited
    (`shown=False`: only counted, for a menu's badge, and nothing of a person leaves)."""
    area = _area(units, who, unit_code)
    ruleset = rules.on(as_of)
    awaiting = await conn.execute(
        select(cases)
        .where(*area, cases.c.state == "completed", cases.c.completed_on <= as_of)
        .order_by(cases.c.completed_on)
    )
    at_large = await conn.execute(
        select(cases).where(*area, cases.c.state == "absconded").order_by(cases.c.absconded_on)
    )
    notice = as_of + timedelta(days=ruleset.post_rehab_ending_notice_days)
    ending = await conn.execute(
        select(cases)
        .where(*area, cases.c.state == "post_rehab", cases.c.post_rehab_ends_on <= notice)
        .order_by(cases.c.post_rehab_ends_on)
    )
    overrun = await conn.execute(
        select(cases).where(*area, cases.c.state == "active", cases.c.planned_end < as_of).order_by(cases.c.planned_end)
    )
    positive = await conn.execute(
        select(cases)
        .where(*area, cases.c.state == "post_rehab", cases.c.positive_test_on.is_not(None))
        .order_by(cases.c.positive_test_on)
    )
    notices, reports = await _move_duties(conn, _sorted(codes_in_area(who, units, unit_code)), as_of)
    due = ruleset.post_rehab_decision_due
    lists = {
        "as_of": as_of.isoformat(),
        "unit_code": unit_code or who.unit,
        "post_rehab_decision_working_days": ruleset.post_rehab_file_working_days
        + ruleset.post_rehab_decision_working_days,
        "awaiting_post_rehab_decision": [
            _item(
                r,
                days_waiting=(as_of - r.completed_on).days,
                due_on=due(r.completed_on).isoformat(),
                overdue=as_of > due(r.completed_on),
            )
            for r in awaiting
        ],
        "absconders_at_large": [_item(r, days_at_large=(as_of - r.absconded_on).days) for r in at_large],
        "post_rehab_ending": [
            _item(r, ends_on=r.post_rehab_ends_on.isoformat(), days_left=(r.post_rehab_ends_on - as_of).days)
            for r in ending
        ],
        "planned_end_passed": [
            _item(r, planned_end=r.planned_end.isoformat(), days_past=(as_of - r.planned_end).days) for r in overrun
        ],
        # Law 73/2021 Art. 32(4): a relapse into addiction during post-rehab management leads to compulsory rehab;
        # a positive test is not yet a relapse, so the commune decides: record the relapse, or rule it out
        "positive_test_during_post_rehab": [
            _item(
                r,
                tested_on=r.positive_test_on.isoformat(),
                days_waiting=(as_of - r.positive_test_on).days,
                to_do="decide relapse (addiction determination; Law 73/2021 Art. 32(4))",
            )
            for r in positive
        ],
        "move_notices_pending": notices,
        "move_reports_pending": reports,
    }
    if not shown:
        return {name: len(items) for name, items in lists.items() if isinstance(items, list)}
    persons = [
        (i["person_id"], i["commune_code"], {"case_id": i["case_id"], "list": name})
        for name, items in lists.items()
        if isinstance(items, list)
        for i in items
    ]
    await record_shown(conn, who, "deadlines", persons, unit_code or who.unit, as_of=as_of.isoformat())
    return {
        **lists,
        "rules_from": ruleset.valid_from.isoformat(),
        "rules_unverified": rules_unverified(as_of, DEADLINE_RULES),
    }


async def _move_duties(
    conn: AsyncConnection, within: list[str] | None, as_of: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The notices and the reports of moves still owed on `as_of`, on the lists of the sending commune and of the
    receiving one; each with its deadline from the rule set in force on the day of the move."""
    area = [] if within is None else [or_(case_moves.c.from_commune.in_(within), case_moves.c.to_commune.in_(within))]
    rows = (
        await conn.execute(
            select(case_moves, cases.c.modality, cases.c.commune_code)
            .join(cases, cases.c.case_id == case_moves.c.case_id)
            .where(*area, cases.c.state == "post_rehab", case_moves.c.moved_on <= as_of)
            .order_by(case_moves.c.moved_on, case_moves.c.case_id)
        )
    ).all()

    def item(r: Any, due_on: date) -> dict[str, Any]:
        ends = (("sending", r.from_commune), ("receiving", r.to_commune))
        sides = [side for side, code in ends if within is None or code in within]
        return _item(
            r,
            move=r.version,
            from_commune=r.from_commune,
            to_commune=r.to_commune,
            moved_on=r.moved_on.isoformat(),
            due_on=due_on.isoformat(),
            overdue=as_of > due_on,
            side=sides[0] if len(sides) == 1 else "both",  # whose list it is on: the sender's, the receiver's
            rules_from=r.rules_from.isoformat(),
            rules_unverified=rules_unverified(r.moved_on, MOVE_RULES),
        )

    notices = [item(r, r.notice_due_on) for r in rows if r.noticed_on is None and r.notice_due_on is not None]
    reports = [item(r, r.report_due_on) for r in rows if r.reported_on is None and r.report_due_on is not None]
    return notices, reports


def _shown(items: list[CaseOut]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(i.person_id, i.commune_code, {"case_id": i.case_id}) for i in items]


def _item(row: Any, **extra: Any) -> dict[str, Any]:
    return {
        "case_id": str(row.case_id),
        "person_id": str(row.person_id),
        "commune_code": row.commune_code,
        "modality": row.modality,
        **extra,
    }


def _out(row: Any) -> CaseOut:
    return CaseOut.model_validate({**row, "case_id": str(row["case_id"]), "person_id": str(row["person_id"])})


async def read_audit(
    conn: AsyncConnection, units: AdminUnits, who: Principal, person_id: str | None, page: int, page_size: int
) -> dict[str, Any]:
    """Who read the cases of persons in the auditor's area (or from it), newest first."""
    return await read_trail(conn, codes_in_area(who, units), person_id, page, page_size)


def _sorted(codes: frozenset[str] | None) -> list[str] | None:
    return None if codes is None else sorted(codes)
