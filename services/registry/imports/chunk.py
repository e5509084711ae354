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
from services.registry.imports.rows import ON_RECORD_ELSEWHERE, Checked
from services.registry.projection import project
from services.registry.tables import audit_log, identities, import_rows, persons
from shared.kernel.db import copy_rows
from shared.kernel.events import CommandContext, Envelope
from shared.kernel.uow import UnitOfWork
from shared.runtime.audit import entry
from shared.runtime.auth import Principal, sees


@dataclass
class Outcome:
    """What one chunk did, to be added to the import's report."""

    created: list[Checked] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)


async def write_chunk(
    uow: UnitOfWork, registry: Registry, valid: list[Checked], who: Principal, ctx: CommandContext, import_id: str
) -> Outcome:
    """Create the chunk's new persons; count the ones on record in the caller's area, refuse (and audit) the rest.

    The registry's own pieces (its store, identity rows, audit entries, area check) in bulk: one COPY per table
    instead of a repository save per person, which is what keeps a 10,000-row list to seconds. What a new person
    of each row is came ready from the worker process that checked the chunk; a row found on record drops it.
    """
    outcome = Outcome()
    conn = uow.conn
    known_rows = await _known(conn, import_rows.c.row_key, import_rows.c.person_id, [v.row_key for v in valid])
    known_citizens = await _known(
        conn, identities.c.citizen_key, identities.c.person_id, [v.citizen_key for v in valid if v.citizen_key]
    )
    key_rows: list[dict[str, object]] = []
    seen: dict[tuple[str, date], bool] = {}  # the area check of each (commune, date) the chunk's known persons hold
    for checked in valid:
        by_citizen = known_citizens.get(checked.citizen_key) if checked.citizen_key else None
        known = by_citizen or known_rows.get(checked.row_key)
        if known is not None:
            person_id, commune, recorded_on = known
            if commune is not None and recorded_on is not None and _sees(seen, who, registry, commune, recorded_on):
                outcome.duplicates += 1
            else:
                where = "citizen_id" if by_citizen else "row"
                outcome.rejected.append({"row": checked.number, "errors": {where: ON_RECORD_ELSEWHERE}})
                await audit.record(  # as a refused registration: the province's list of attempts shows it
                    conn,
                    who,
                    ELSEWHERE,
                    person_id,
                    commune,
                    attempted_commune=checked.commune_code,
                    import_id=import_id,
                    row=checked.number,
                    matched_on=where,
                )
            continue
        person_id = checked.person_id  # made with the row's registration, in the worker process
        key_rows.append({"row_key": checked.row_key, "person_id": person_id, "import_id": import_id})
        known_rows[checked.row_key] = (person_id, checked.commune_code, checked.recorded_on)
        if checked.citizen_key:
            known_citizens[checked.citizen_key] = (person_id, checked.commune_code, checked.recorded_on)
        outcome.created.append(checked)
    if outcome.created:
        sealed = [c.event for c in outcome.created]
        vault_rows = [c.identity for c in outcome.created]
        await registry.store.append_sealed(conn, sealed)
        await copy_rows(conn, identities, vault_rows)
        await copy_rows(conn, import_rows, key_rows)
        await project(conn, sealed)
        await copy_rows(conn, audit_log, [_audit_row(who, e, ctx, import_id) for e in sealed])
        outcome.flagged = await _likely_duplicates(conn, outcome, vault_rows)
    return outcome


def _sees(
    seen: dict[tuple[str, date], bool], who: Principal, registry: Registry, commune: str, recorded_on: date
) -> bool:
    """`sees`, asked once per (commune, date): the persons a list meets live in a few communes."""
    place = (commune, recorded_on)
    if place not in seen:
        seen[place] = sees(who, registry.units, commune, recorded_on)
    return seen[place]


async def _likely_duplicates(
    conn: AsyncConnection, outcome: Outcome, vault_rows: list[dict[str, object]]
) -> list[dict[str, Any]]:
    keys = sorted({str(r["match_key"]) for r in vault_rows})
    groups: dict[str, list[str]] = {}
    for key, person_id in await conn.execute(
        select(identities.c.match_key, identities.c.person_id).where(
            identities.c.match_key == any_(cast(keys, ARRAY(Text)))
        )
    ):
        groups.setdefault(key, []).append(str(person_id))
    flagged = []
    for checked, vault_row in zip(outcome.created, vault_rows, strict=True):
        person_id = checked.person_id
        others = [p for p in groups.get(str(vault_row["match_key"]), []) if p != person_id]
        if others:
            flagged.append({"row": checked.number, "person_id": person_id, "likely_duplicates": sorted(others)})
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


def _audit_row(who: Principal, env: Envelope, ctx: CommandContext, import_id: str) -> dict[str, object]:
    """The same entry a registration through the API writes (shared.runtime.audit.entry), dated by the event."""
    row = entry(who, "register", env.stream_id, env.unit_code, {"import_id": import_id, "source": "import"})
    return row | {"at": env.recorded_at, "correlation_id": ctx.correlation_id}
