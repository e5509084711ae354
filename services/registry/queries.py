"""Reads of the registry: a person's file, searches and the audit trail. Every read of a file is audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry import audit
from services.registry.commands import Registry
from services.registry.schemas import PersonOut, PersonPage
from services.registry.tables import audit_log, identities, persons
from shared.auth import Principal
from shared.errors import Forbidden, NotFound

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
    if row is None or not registry.units.is_within(row.commune_code, who.unit):
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
        if not registry.units.is_within(commune_code, who.unit):
            raise Forbidden(f"commune {commune_code} is outside your area ({who.unit})")
        conditions.append(persons.c.commune_code == commune_code)
    else:
        area = registry.units.units_within(who.unit)
        if area is not None:
            conditions.append(persons.c.commune_code.in_(sorted(area)))
    if status:
        conditions.append(persons.c.status == status)
    if q and q.strip():
        digits = q.replace(" ", "")
        if digits.isdigit() and len(digits) == 12:
            conditions.append(identities.c.citizen_key == registry.vault.citizen_key(digits))
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
    await audit.record(
        conn,
        who,
        "search",
        None,
        commune_code or who.unit,
        query={"commune_code": commune_code, "status": status, "q": bool(q)},
        returned=[i.person_id for i in items],
    )
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
    """Audit entries about records in the auditor's area, newest first."""
    conditions: list[Any] = []
    area = registry.units.units_within(who.unit)
    if area is not None:
        codes = sorted(area)
        conditions.append(or_(audit_log.c.unit_code.in_(codes), audit_log.c.unit.in_(codes)))
    if person_id:
        conditions.append(audit_log.c.person_id == person_id)
    rows = await conn.execute(
        select(audit_log)
        .where(*conditions)
        .order_by(audit_log.c.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    entries = [
        {**dict(r._mapping), "at": r.at.isoformat(), "person_id": str(r.person_id) if r.person_id else None}
        for r in rows
    ]
    return {"items": entries, "page": page, "page_size": page_size}
