"""Reads of the registry: a person's file, searches and the audit trail. Every read of a file is audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry import audit
from services.registry.commands import Registry
from services.registry.dedupe import ELSEWHERE
from services.registry.policy import file_actions
from services.registry.schemas import (
    Candidate,
    PendingAssignment,
    PendingPage,
    PersonOut,
    PersonPage,
    normalise_citizen_id,
)
from services.registry.tables import audit_log, identities, persons
from shared.kernel.events import HistoryEntry
from shared.runtime.area import area_conditions, codes_in_area
from shared.runtime.audit import newest_first, read_trail
from shared.runtime.auth import Principal
from shared.runtime.errors import NotFound
from shared.vn.units import NATIONAL, REFORM_DATE

MAX_PAGE_SIZE = 200


async def read_person(conn: AsyncConnection, registry: Registry, who: Principal, person_id: str) -> PersonOut:
    """One person's file (404 outside the caller's area, so existence does not leak)."""
    row = (
        await conn.execute(
            select(persons, identities.c.sealed)
            .join(identities, identities.c.person_id == persons.c.person_id)
            .where(persons.c.person_id == person_id)
        )
    ).first()
    if row is None or not registry.sees(who, row.commune_code, row.unit_on):
        raise NotFound(f"no person {person_id} in your area ({who.unit})")
    await audit.record(conn, who, "read", person_id, row.commune_code)
    out = _person_out(registry, row._mapping)
    out.likely_duplicates = await registry.likely_duplicates(conn, person_id)
    out.history = [HistoryEntry.of(env) for env in await registry.store.load(conn, person_id)]
    out.actions = file_actions(who, closed=out.merged_into is not None or out.died_on is not None)
    return out


async def search_persons(
    conn: AsyncConnection,
    registry: Registry,
    who: Principal,
    commune_code: str | None,
    status: str | None,
    q: str | None,
    page: int,
    page_size: int,
    person_ids: list[str] | None = None,
) -> PersonPage:
    """Open records in the caller's area, filtered by commune, status, name words or citizen id, or by their ids
    (a work list's names in one audited read).

    The area, and a commune asked for, are today's units: a person registered in a commune merged on 2025-07-01
    is listed under its successor (an abolished unit's account lists what was recorded inside it before).
    """
    conditions: list[Any] = [persons.c.merged_into.is_(None), *_area(registry, who, commune_code)]
    if status:
        conditions.append(persons.c.status == status)
    if person_ids:
        conditions.append(persons.c.person_id.in_(person_ids))
    if q and q.strip():
        citizen_id = normalise_citizen_id(q)
        if citizen_id is not None:
            await registry.spend_lookup(who)  # a search by citizen id is an identity lookup
            conditions.append(identities.c.citizen_key == registry.vault.citizen_key(citizen_id))
        else:
            conditions.append(identities.c.name_keys.contains(registry.vault.name_keys(q)))
    base = select(persons, identities.c.sealed).join(identities, identities.c.person_id == persons.c.person_id)
    total = await conn.scalar(select(func.count()).select_from(base.where(*conditions).subquery()))
    rows = await conn.execute(
        base.where(*conditions)
        .order_by(persons.c.commune_code, persons.c.registered_on, persons.c.person_id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    items = [_person_out(registry, r._mapping) for r in rows]
    query = {"commune_code": commune_code, "status": status, "q": bool(q), "page": page, "ids": len(person_ids or [])}
    # never the words typed
    shown: list[tuple[str, str, dict[str, Any]]] = [(i.person_id, i.commune_code, {}) for i in items]
    await audit.record_shown(conn, who, "search", shown, commune_code or who.unit, query=query, total=total)
    return PersonPage(items=items, page=page, page_size=page_size, total=int(total or 0))


def _person_out(registry: Registry, row: Any) -> PersonOut:
    identity = registry.vault.open(row["sealed"])
    return PersonOut(
        person_id=str(row["person_id"]),
        version=row["version"],
        full_name=identity.full_name,
        date_of_birth=identity.date_of_birth,
        sex=row["sex"],
        citizen_id=identity.citizen_id,
        commune_code=row["commune_code"],
        village=identity.village,
        status=row["status"],
        source=row["source"],
        registered_on=row["registered_on"],
        merged_into=str(row["merged_into"]) if row["merged_into"] else None,
        died_on=row["died_on"],
        determinations=row["determinations"],
    )


async def read_audit(
    conn: AsyncConnection, registry: Registry, who: Principal, person_id: str | None, page: int, page_size: int
) -> dict[str, Any]:
    """Audit entries about records in the auditor's area, or made from it, newest first."""
    return await read_trail(conn, codes_in_area(who, registry.units), person_id, page, page_size)


async def registration_attempts(
    conn: AsyncConnection, registry: Registry, who: Principal, page: int, page_size: int
) -> dict[str, Any]:
    """Registrations refused because the person is on record in the caller's area: who tried, from where, when.

    The officer who tried was told nothing about the person; this is how the area that manages them finds out.
    """
    conditions: list[Any] = [audit_log.c.action == ELSEWHERE]
    area = codes_in_area(who, registry.units)
    if area is not None:
        conditions.append(audit_log.c.unit_code.in_(sorted(area)))
    rows = await newest_first(conn, audit_log, conditions, page, page_size)
    items = [
        {
            "at": r.at.isoformat(),
            "person_id": str(r.person_id),
            "commune_code": r.unit_code,
            "attempted_by": {"sub": r.sub, "role": r.role, "unit": r.unit},
            "attempted_commune": r.detail.get("attempted_commune"),
            "correlation_id": r.correlation_id,
        }
        for r in rows
    ]
    return {"items": items, "page": page, "page_size": page_size}


def _area(registry: Registry, who: Principal, unit_code: str | None) -> list[Any]:
    """The rows of `unit_code` (default: the caller's unit) the caller sees, by today's hierarchy (403 outside)."""
    c = persons.c
    return area_conditions(who, registry.units, unit_code, code=c.commune_code, now=c.unit_now, on=c.unit_on)


async def pending_assignments(
    conn: AsyncConnection, registry: Registry, who: Principal, unit_code: str | None, page: int, page_size: int
) -> PendingPage:
    """Open records of communes split on 2025-07-01: the province's work list until a decision assigns each.

    Their unit now is the province (AdminUnits.unit_now never guesses a split), so the list is the open records in
    the caller's area whose unit now is a province; ids and codes only, with the candidate successor communes.
    """
    units = registry.units
    provinces = sorted(u.code for u in units.children(NATIONAL, "2025"))
    conditions: list[Any] = [
        persons.c.merged_into.is_(None),
        persons.c.died_on.is_(None),
        persons.c.unit_on < REFORM_DATE,
        persons.c.unit_now.in_(provinces),
        *_area(registry, who, unit_code),
    ]
    total = await conn.scalar(select(func.count()).select_from(persons).where(*conditions))
    rows = await conn.execute(
        select(persons)
        .where(*conditions)
        .order_by(persons.c.commune_code, persons.c.registered_on, persons.c.person_id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    items = [
        PendingAssignment(
            person_id=str(r.person_id),
            version=r.version,
            commune_code=r.commune_code,
            commune_name=units.get(r.commune_code, r.unit_on).name,
            recorded_on=r.unit_on,
            unit_now=r.unit_now,
            status=r.status,
            candidates=[
                Candidate(commune_code=c, name=units.get(c, edition="2025").name)
                for c in units.successors(r.commune_code)
            ],
        )
        for r in rows
    ]
    shown: list[tuple[str, str, dict[str, Any]]] = [(i.person_id, i.commune_code, {}) for i in items]
    await audit.record_shown(conn, who, "read_pending", shown, unit_code or who.unit, page=page, total=total)
    return PendingPage(items=items, page=page, page_size=page_size, total=int(total or 0))
