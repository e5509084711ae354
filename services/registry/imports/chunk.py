"""Writing one chunk of an import: new persons created, known ones counted or refused without disclosure.

A row whose citizen id (or whole content) is already on record counts as a duplicate when that person is managed
inside the caller's area; outside it, the row is refused with the same words whoever the person is and wherever
they live, and the probe is audited against that person as a refused registration (the auditors and province
officers of that area see who asked), because a "duplicate" there would answer "is this citizen id on the
registry?" for the whole country.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Text, any_, cast, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry import audit
from services.registry.commands import Registry
from services.registry.dedupe import ELSEWHERE, Holder
from services.registry.imports.ready import ImportJob, Prepared, Ready, Valid, build_rows
from services.registry.imports.rows import ON_RECORD_ELSEWHERE
from services.registry.projection import insert_registered
from services.registry.tables import audit_log, identities, import_rows, persons
from shared.kernel.db import copy_rows
from shared.kernel.eventstore import EventStore, SealedRows
from shared.kernel.uow import UnitOfWork
from shared.runtime.auth import Principal, sees
from shared.runtime.offload import in_thread


@dataclass
class Outcome:
    """What one chunk did, to be added to the import's report."""

    created: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)


async def write_chunk(uow: UnitOfWork, registry: Registry, chunk: Prepared, job: ImportJob) -> Outcome:
    """Create the chunk's new persons; count the ones on record in the caller's area, refuse (and audit) the rest.

    The rows were built ahead (imports/ready.py); here they are only chosen and written, one COPY per table
    instead of a repository save per person, which is what keeps a 10,000-row list to seconds.
    """
    outcome = Outcome()
    conn = uow.conn
    who, import_id = job.who, job.import_id
    valid = chunk.checked.valid
    known_rows, known_citizens = await known_keys(conn, valid)
    built = chunk.built_for
    ready = chunk.built.ready
    events = chunk.built.events
    unbuilt = [i for i, v in enumerate(valid) if i not in built and _holder(v, known_rows, known_citizens) is None]
    if unbuilt:  # on record when the chunk was checked, gone since (rare): built now, here
        more = await in_thread(build_rows, [valid[i] for i in unbuilt], job)
        built = built | {at: len(ready) + k for k, at in enumerate(unbuilt)}
        ready = ready + more.ready
        events = SealedRows(events.events + more.events.events, events.outbox + more.events.outbox)
    key_rows: list[dict[str, object]] = []
    created: list[tuple[Valid, Ready]] = []
    chosen: list[int] = []  # the positions in `ready` of the persons created
    seen: dict[tuple[str, date], bool] = {}  # the area check of each (commune, date) the chunk's known persons hold
    for at, row in enumerate(valid):
        known = _holder(row, known_rows, known_citizens)
        if known is not None:
            person_id, commune, recorded_on = known
            if commune is not None and recorded_on is not None and _sees(seen, who, registry, commune, recorded_on):
                outcome.duplicates += 1
            else:
                where = "citizen_id" if row.citizen_key in known_citizens else "row"
                outcome.rejected.append({"row": row.number, "errors": {where: ON_RECORD_ELSEWHERE}})
                await audit.record(  # as a refused registration: the province's list of attempts shows it
                    conn,
                    who,
                    ELSEWHERE,
                    person_id,
                    commune,
                    attempted_commune=row.commune_code,
                    import_id=import_id,
                    row=row.number,
                    matched_on=where,
                )
            continue
        k = built[at]
        person_id = ready[k].person_id
        key_rows.append({"row_key": row.row_key, "person_id": person_id, "import_id": import_id})
        known_rows[row.row_key] = (person_id, row.commune_code, row.recorded_on)
        if row.citizen_key:
            known_citizens[row.citizen_key] = (person_id, row.commune_code, row.recorded_on)
        created.append((row, ready[k]))
        chosen.append(k)
    outcome.created = len(created)
    if created:
        if chosen != list(range(len(events.events))):
            events = SealedRows([events.events[k] for k in chosen], [events.outbox[k] for k in chosen])
        await registry_store(registry).append_rows(conn, events)
        await copy_rows(conn, identities, [r.identity for _, r in created])
        await copy_rows(conn, import_rows, key_rows)
        await insert_registered(conn, [r.person for _, r in created])
        await copy_rows(conn, audit_log, [r.audit for _, r in created])
        outcome.flagged = await _likely_duplicates(conn, created)
    return outcome


async def known_keys(conn: AsyncConnection, valid: list[Valid]) -> tuple[dict[str, Holder], dict[str, Holder]]:
    """The persons the rows' content keys and citizen keys are on record for (with their commune and its date)."""
    known_rows = await _known(conn, import_rows.c.row_key, import_rows.c.person_id, [v.row_key for v in valid])
    known_citizens = await _known(
        conn, identities.c.citizen_key, identities.c.person_id, [v.citizen_key for v in valid if v.citizen_key]
    )
    return known_rows, known_citizens


def _holder(row: Valid, known_rows: dict[str, Holder], known_citizens: dict[str, Holder]) -> Holder | None:
    by_citizen = known_citizens.get(row.citizen_key) if row.citizen_key else None
    return by_citizen or known_rows.get(row.row_key)


def registry_store(registry: Registry) -> EventStore:
    """The registry's event store, which an import writes to in bulk (PostgreSQL's: an import needs COPY)."""
    store = registry.store
    assert isinstance(store, EventStore), "imports write to the PostgreSQL event store"
    return store


def _sees(
    seen: dict[tuple[str, date], bool], who: Principal, registry: Registry, commune: str, recorded_on: date
) -> bool:
    """`sees`, asked once per (commune, date): the persons a list meets live in a few communes."""
    place = (commune, recorded_on)
    if place not in seen:
        seen[place] = sees(who, registry.units, commune, recorded_on)
    return seen[place]


async def _likely_duplicates(conn: AsyncConnection, created: list[tuple[Valid, Ready]]) -> list[dict[str, Any]]:
    keys = sorted({str(r.identity["match_key"]) for _, r in created})
    groups: dict[str, list[str]] = {}
    for key, person_id in await conn.execute(
        select(identities.c.match_key, identities.c.person_id).where(
            identities.c.match_key == any_(cast(keys, ARRAY(Text)))
        )
    ):
        groups.setdefault(key, []).append(str(person_id))
    flagged = []
    for row, r in created:
        others = [p for p in groups.get(str(r.identity["match_key"]), []) if p != r.person_id]
        if others:
            flagged.append({"row": row.number, "person_id": r.person_id, "likely_duplicates": sorted(others)})
    return flagged


async def _known(conn: AsyncConnection, key_col: Any, id_col: Any, keys: list[Any]) -> dict[str, Holder]:
    """The person each known key belongs to, with the commune that person is managed in now and its date."""
    if not keys:
        return {}
    rows = await conn.execute(
        select(key_col, id_col, persons.c.commune_code, persons.c.unit_on)
        .outerjoin(persons, persons.c.person_id == id_col)
        .where(key_col == any_(cast(keys, ARRAY(Text))))
    )
    return {str(k): (str(p), c, on) for k, p, c, on in rows}
