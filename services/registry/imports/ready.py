"""A chunk of an import made ready in a worker process: its rows checked, and what creating each person writes.

Checking a row (the API's validation, the area, the registration rule, the blind keys) and building what its
creation writes (the sealed identity, the event and its outbox row, the read model's and the audit trail's rows)
are most of an import's CPU and need no database, so they run in the service's worker processes, on the other
core, a chunk or two ahead of the one being written; the event loop only decides which persons are new (a
lookup in the chunk's transaction) and writes their rows. Each row gets its person id here; one that turns out
to be on record already writes nothing, and its id is never used.
"""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from services.registry.commands import Registry
from services.registry.domain.events import PersonRegistered
from services.registry.imports.parse import decode
from services.registry.imports.rows import check_chunk
from services.registry.projection import registered_row
from services.registry.vault import Identity, Vault
from shared.kernel.events import CommandContext, Envelope, Event, PendingEvent, seal
from shared.kernel.eventstore import EventStore, SealedRows
from shared.kernel.ids import uuid7
from shared.runtime.audit import entry
from shared.runtime.auth import Principal
from shared.vn.units import admin_units


@dataclass(frozen=True)
class ImportJob:
    """What a worker process needs to prepare the chunks of one import (pickled with each chunk: it is small)."""

    vault: Vault
    topic: str
    who: Principal
    recorded_on: date
    source: str
    ctx: CommandContext
    import_id: str


class Valid(NamedTuple):
    """A row that passed its checks: its dedupe keys, and what creating its person needs."""

    number: int  # the row number an official sees in the spreadsheet
    row_key: str
    citizen_key: str | None
    commune_code: str
    recorded_on: date
    identity: tuple[str, date, str | None, str | None]  # full name, date of birth, citizen id, village
    # the registration `Person.register` decided (its event's class and fields, its date and unit), as plain
    # values: a chunk's rows go to the event loop's process and back, and a model costs ten times more to pickle
    event: tuple[type[Event], dict[str, Any], date, str]


class Ready(NamedTuple):
    """What creating a valid row's person writes (the person id is given here; unused if it is on record)."""

    person_id: str
    identity: dict[str, object]
    person: dict[str, object]  # the read model's row
    audit: dict[str, object]


@dataclass(frozen=True)
class Checked:
    """One chunk of the file checked: how many rows it held, the ones that passed and the report of the others."""

    size: int
    valid: list[Valid]
    rejected: list[dict[str, Any]]


@dataclass(frozen=True)
class Built:
    """What creating some valid rows' persons writes: `ready[i]` and event `i` (events and outbox rows) each."""

    ready: list[Ready]
    events: SealedRows


@dataclass(frozen=True)
class Prepared:
    """A chunk checked, and the rows built for its valid rows that were not on record when it was checked."""

    checked: Checked
    built_for: dict[int, int]  # position in `checked.valid` -> position in `built`
    built: Built


def check_lines(lines: list[bytes], job: ImportJob) -> Checked:
    """A chunk's packed lines through every check a row gets (in a worker process)."""
    registry = Registry(EventStore(job.topic), admin_units(), job.vault)
    valid, rejected = check_chunk(registry, decode(lines), job.who, job.recorded_on, job.source)
    rows = [
        Valid(
            c.raw.number,
            c.row_key,
            c.citizen_key,
            c.person.commune_code,
            c.person.recorded_on,
            (c.person.full_name, c.person.date_of_birth, c.person.citizen_id, c.person.village),
            (type(c.pending.event), dict(c.pending.event), c.pending.occurred_on, c.pending.unit_code),
        )
        for c in valid
    ]
    return Checked(len(lines), rows, rejected)


def build_rows(rows: list[Valid], job: ImportJob) -> Built:
    """What creating each row's person writes, each given its person id (in a worker process)."""
    store = EventStore(job.topic)
    registry = Registry(store, admin_units(), job.vault)
    sealed: list[Envelope] = []
    ready: list[Ready] = []
    for row in rows:
        person_id = str(uuid7())
        kind, fields, occurred_on, unit_code = row.event
        event = kind.model_validate(fields)  # as `check_lines` decided it (validating is cheaper than model_construct)
        pending = PendingEvent(event=event, occurred_on=occurred_on, unit_code=unit_code)
        env = seal(pending, person_id, 1, job.ctx)
        full_name, date_of_birth, citizen_id, village = row.identity
        identity = Identity(full_name=full_name, date_of_birth=date_of_birth, citizen_id=citizen_id, village=village)
        sealed.append(env)
        ready.append(
            Ready(
                person_id,
                registry.identity_row(person_id, identity, row.commune_code),
                registered_row(env, event if isinstance(event, PersonRegistered) else None),
                audit_row(job.who, env, job.ctx, job.import_id),
            )
        )
    return Built(ready, store.rows(sealed))


def check_and_build(lines: list[bytes], job: ImportJob) -> Prepared:
    """`check_lines`, then `build_rows` for every row that passed, in one call (in a worker process)."""
    checked = check_lines(lines, job)
    return Prepared(checked, {i: i for i in range(len(checked.valid))}, build_rows(checked.valid, job))


def audit_row(who: Principal, env: Envelope, ctx: CommandContext, import_id: str) -> dict[str, object]:
    """The same entry a registration through the API writes (shared.runtime.audit.entry), dated by the event."""
    row = entry(who, "register", env.stream_id, env.unit_code, {"import_id": import_id, "source": "import"})
    # its detail as JSON text here, in the worker process: COPY takes it as it is (shared.kernel.db.copy_rows)
    detail = json.dumps(row["detail"], ensure_ascii=False, default=str)
    return row | {"at": env.recorded_at, "correlation_id": ctx.correlation_id, "detail": detail}


def warm_up() -> None:
    """Load in a worker process what checking rows reads (the catalogue of units) before an import waits on it, and
    keep it out of the collector's full passes, as the service's own process does (ImportWorker.run)."""
    admin_units()
    gc.collect()
    gc.freeze()
