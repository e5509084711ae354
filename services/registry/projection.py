"""Keeps the `persons` read model in step with the registry's events, in the same transaction as the append.

It is a projection like any other: `rebuild` replays the event store into it from scratch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.domain.events import (
    REGISTRY_EVENTS,
    AddictionDetermined,
    PersonAssignedAfterReorganisation,
    PersonDied,
    PersonRegistered,
    RecordsMerged,
    ResidenceChanged,
)
from services.registry.tables import persons
from shared.kernel.db import copy_rows
from shared.kernel.events import Envelope
from shared.kernel.eventstore import BULK_THRESHOLD
from shared.kernel.notes import Notes, load_notes, with_legacy
from shared.vn.units import admin_units


def commune_columns(commune_code: str, recorded_on: date) -> dict[str, object]:
    """The commune as recorded, today's unit responsible for it (from the catalogue: a rebuild gives the same) and
    the date it was recorded, which says which edition the code is read in."""
    return {
        "commune_code": commune_code,
        "unit_now": admin_units().unit_now_or_code(commune_code, recorded_on),
        "unit_on": recorded_on,
    }


async def project(conn: AsyncConnection, sealed: Sequence[Envelope]) -> None:
    """Apply events to the read model; registrations go in one multi-row insert (imports send thousands)."""
    fresh = [e for e in sealed if e.event_type == PersonRegistered.event_type and e.stream_version == 1]
    if len(fresh) >= BULK_THRESHOLD:
        await copy_rows(conn, persons, [_registered_row(e) for e in fresh])
    elif fresh:
        await conn.execute(persons.insert(), [_registered_row(e) for e in fresh])
    done = {e.event_id for e in fresh}
    determinations = [e.event_id for e in sealed if e.event_type == AddictionDetermined.event_type]
    notes = await load_notes(conn, determinations)  # the facility's name lives here, not in the event
    for env in sealed:
        if env.event_id not in done:
            await _apply(conn, env, notes)


def _registered_row(env: Envelope) -> dict[str, object]:
    event = REGISTRY_EVENTS.decode(env)
    assert isinstance(event, PersonRegistered)
    return {
        "person_id": env.stream_id,
        "version": env.stream_version,
        **commune_columns(event.commune_code, env.occurred_on),
        "status": event.status,
        "sex": event.sex,
        "birth_year": event.birth_year,
        "source": event.source,
        "registered_on": env.occurred_on,
        "determinations": [],
    }


async def _apply(conn: AsyncConnection, env: Envelope, notes: dict[UUID, Notes]) -> None:
    event = REGISTRY_EVENTS.decode(env)
    row = persons.c.person_id == env.stream_id
    values: dict[str, object] = {"version": env.stream_version}
    match event:
        case PersonRegistered():
            await conn.execute(persons.insert(), [_registered_row(env)])
            return
        case AddictionDetermined():
            entry = {
                "result": event.result,
                "determined_on": env.occurred_on.isoformat(),
                "facility": with_legacy(env, notes, ("facility",)).get("facility", ""),
                "form_number": event.form_number,
            }
            values |= {
                "status": event.status,
                "determinations": persons.c.determinations
                + func.jsonb_build_array(func.jsonb_build_object(*[x for k, v in entry.items() for x in (k, v)])),
            }
        case ResidenceChanged() | PersonAssignedAfterReorganisation():
            values |= commune_columns(event.to_commune, env.occurred_on)
        case RecordsMerged() if event.duplicate_id == env.stream_id:
            values["merged_into"] = event.survivor_id
        case PersonDied():
            values["died_on"] = event.died_on
    await conn.execute(update(persons).where(row).values(values))
