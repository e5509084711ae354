"""Reads of the registry: a person's file, searches and the audit trail. Every read of a file is audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry import audit
from services.registry.commands import Registry
from services.registry.dedupe import ELSEWHERE
from services.registry.schemas import PersonOut, PersonPage, normalise_citizen_id
from services.registry.tables import audit_log, identities, persons
from shared.runtime.audit import newest_first, read_trail
from shared.runtime.auth import Principal, in_scope, require_scope
from shared.runtime.errors import NotFound

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
    if row is None or not in_scope(who, row.commune_code, registry.units):
        raise NotFound(f"no person {person_id} in your area ({who.unit})")
    await audit.record(conn, who, "read", person_id, row.commune_code)
    out = _person_out(registry, row._mapping)
    out.likely_duplicates = await registry.likely_duplicates(conn, person_id)
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
) -> PersonPage:
    """Open records in the caller's area, filtered by commune, status and name words or citizen id."""
    conditions: list[Any] = [persons.c.merged_into.is_(None)]
    if commune_code:
        require_scope(who, commune_code, registry.units, noun="commune")
        conditions.append(persons.c.commune_code == commune_code)
    else:
        area = registry.units.units_within(who.unit)
        if area is not None:
            conditions.append(persons.c.commune_code.in_(sorted(area)))
    if status:
        conditions.append(persons.c.status == status)
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
    query = {"commune_code": commune_code, "status": status, "q": bool(q), "page": page}  # never the words typed
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
    return await read_trail(conn, registry.units.units_within(who.unit), person_id, page, page_size)


async def registration_attempts(
    conn: AsyncConnection, registry: Registry, who: Principal, page: int, page_size: int
) -> dict[str, Any]:
    """Registrations refused because the person is on record in the caller's area: who tried, from where, when.

    The officer who tried was told nothing about the person; this is how the area that manages them finds out.
    """
    conditions: list[Any] = [audit_log.c.action == ELSEWHERE]
    area = registry.units.units_within(who.unit)
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
