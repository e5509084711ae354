"""Folding one event of any topic into a generation's fact tables; per stream, an event applies at most once.

This is the reporting side of the three services' event contracts: payload fields are read by name, no
service code is imported. Unknown event types are skipped; a newer schema version is a poison message.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Table, and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.facts import Facts, current
from shared.events import Envelope, UnknownEventError
from shared.migrations import lock_key

SWAP_LOCK = lock_key("reporting:generation-swap")
REGISTRY = {"person_registered", "addiction_determined", "residence_changed", "records_merged", "person_died"}
CASES = {
    "case_enrolled",
    "case_absconded",
    "case_returned",
    "case_dropped_out",
    "case_terminated",
    "case_completed",
    "post_rehab_started",
    "post_rehab_ended",
    "relapse_recorded",
    "case_transferred",
}
PLANS = {"plan_issued", "plan_revised"}
CLOSING = {
    "case_dropped_out": "dropped_out",
    "case_terminated": "terminated",
    "relapse_recorded": "relapsed",
    "post_rehab_ended": "post_rehab_ended",
}
SOURCE = {**dict.fromkeys(REGISTRY, "registry"), **dict.fromkeys(CASES, "cases"), **dict.fromkeys(PLANS, "quotas")}


async def on_event(conn: AsyncConnection, env: Envelope) -> None:
    """The live consumer's handler: apply to the current generation (a swap waits for this transaction)."""
    await conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": SWAP_LOCK})
    await apply(conn, await current(conn), env)


async def apply(conn: AsyncConnection, f: Facts, env: Envelope) -> bool:
    """Apply `env` to `f`; False when it was already applied (or is of a type reports do not use)."""
    source = SOURCE.get(env.event_type)
    if source is None:
        return False
    if env.schema_version > 1:
        raise UnknownEventError(f"{env.event_type} v{env.schema_version} is newer than reporting reads (v1)")
    p, v, on = env.payload, env.stream_version, env.occurred_on
    if source == "registry":
        fresh = await _advance(conn, f.persons, f.persons.c.person_id, env.stream_id, v)
        if fresh:
            await _person(conn, f, env.event_type, env.stream_id, v, on, env.unit_code, p)
    elif source == "cases":
        fresh = await _advance(conn, f.cases, f.cases.c.case_id, env.stream_id, v)
        if fresh:
            await _case(conn, f, env.event_type, env.stream_id, v, on, env.unit_code, p)
    else:
        fresh = await _plan(conn, f, env.stream_id, v, p)
    if fresh:
        stmt = insert(f.topics).values(topic=source, events=1, last_event_at=env.recorded_at)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["topic"],
                set_={
                    "events": f.topics.c.events + 1,
                    "last_event_at": func.greatest(f.topics.c.last_event_at, stmt.excluded.last_event_at),
                },
            )
        )
    return fresh


async def _advance(conn: AsyncConnection, table: Table, key: Any, stream_id: str, version: int) -> bool:
    """Move the row's version to `version` if it is behind (creating the row); False for a duplicate."""
    moved = await conn.execute(update(table).where(key == stream_id, table.c.version < version).values(version=version))
    if moved.rowcount:
        return True
    inserted = await conn.execute(
        insert(table).values({key.name: stream_id, "version": version}).on_conflict_do_nothing()
    )
    return bool(inserted.rowcount)


async def _person(
    conn: AsyncConnection, f: Facts, kind: str, person_id: str, v: int, on: date, unit: str, p: dict[str, Any]
) -> None:
    row = f.persons.c.person_id == person_id
    if kind == "person_registered":
        addict_on = on if p["status"] == "addict" else None
        await conn.execute(
            update(f.persons)
            .where(row)
            .values(registered_on=on, sex=p["sex"], birth_year=p["birth_year"], status=p["status"], addict_on=addict_on)
        )
        await conn.execute(
            insert(f.residences)
            .values(person_id=person_id, version=v, valid_from=on, commune_code=p["commune_code"])
            .on_conflict_do_nothing()
        )
    elif kind == "addiction_determined":
        values: dict[str, Any] = {"status": p["status"]}
        if p["result"] == "addicted":
            values["addict_on"] = func.coalesce(f.persons.c.addict_on, on)
        await conn.execute(update(f.persons).where(row).values(values))
    elif kind == "residence_changed":
        await conn.execute(
            insert(f.residences)
            .values(person_id=person_id, version=v, valid_from=on, commune_code=p["to_commune"])
            .on_conflict_do_nothing()
        )
    elif (kind == "records_merged" and p.get("duplicate_id") == person_id) or kind == "person_died":
        await conn.execute(update(f.persons).where(row).values(closed_on=p.get("died_on", on)))


async def _case(
    conn: AsyncConnection, f: Facts, kind: str, case_id: str, v: int, on: date, unit: str, p: dict[str, Any]
) -> None:
    row = f.cases.c.case_id == case_id
    if kind == "case_enrolled":
        await conn.execute(
            update(f.cases)
            .where(row)
            .values(
                person_id=p["person_id"],
                modality=p["modality"],
                started_on=p["started_on"],
                sex=p.get("sex"),
                birth_year=p.get("birth_year"),
                enrolled_commune=unit,
            )
        )
        await conn.execute(
            insert(f.case_units)
            .values(case_id=case_id, version=v, valid_from=p["started_on"], commune_code=unit)
            .on_conflict_do_nothing()
        )
    elif kind == "case_transferred":
        await conn.execute(
            insert(f.case_units)
            .values(case_id=case_id, version=v, valid_from=on, commune_code=p["to_commune"])
            .on_conflict_do_nothing()
        )
    elif kind == "case_absconded":
        await conn.execute(
            insert(f.abscondments).values(case_id=case_id, version=v, absconded_on=on).on_conflict_do_nothing()
        )
    elif kind == "case_returned":
        open_spell = and_(f.abscondments.c.case_id == case_id, f.abscondments.c.returned_on.is_(None))
        await conn.execute(update(f.abscondments).where(open_spell).values(returned_on=on))
    elif kind == "case_completed":
        await conn.execute(update(f.cases).where(row).values(completed_on=on))
    elif kind == "post_rehab_started":
        await conn.execute(
            update(f.cases).where(row).values(post_rehab_decided_on=p["decided_on"], post_rehab_ends_on=p["ends_on"])
        )
    if kind in CLOSING:
        await conn.execute(update(f.cases).where(row).values(closed_on=on, closed_as=CLOSING[kind]))


async def _plan(conn: AsyncConnection, f: Facts, stream_id: str, v: int, p: dict[str, Any]) -> bool:
    _, year, unit = stream_id.split("-", 2)
    values = {"year": int(year), "unit_code": unit, "version": v, "quotas": p["quotas"], "targets": p["targets"]}
    stmt = insert(f.plans).values(values)
    done = await conn.execute(
        stmt.on_conflict_do_update(index_elements=["year", "unit_code"], set_=values, where=f.plans.c.version < v)
    )
    return bool(done.rowcount)


async def topic_status(conn: AsyncConnection, f: Facts) -> list[dict[str, Any]]:
    rows = await conn.execute(select(f.topics).order_by(f.topics.c.topic))
    return [{"source": r.topic, "events": r.events, "last_event_at": r.last_event_at} for r in rows]
