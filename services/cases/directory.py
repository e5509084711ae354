"""The cases service's directory of persons, fed by `rehab.registry.events`; a move carries the open case along.

Each person's commune is kept as the registry recorded it, with today's unit responsible (`unit_now`, from the
catalogue) and the date it was recorded. A decision assigning a person of a split commune is followed like a move.

This is the cases side of the registry's event contract: it reads payload fields by name and never imports
the registry's code. An event type it has never heard of, or a newer schema version, is a poison message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.cases.commands import Cases, Decision
from services.cases.tables import directory
from shared.kernel.events import SYSTEM_ACTOR, CommandContext, Envelope, UnknownEventError
from shared.kernel.uow import BoundUnitOfWork
from shared.vn.units import AdminUnits

log = logging.getLogger("rehab.cases.directory")
KNOWN_VERSIONS = {
    "person_registered": 1,
    "addiction_determined": 2,  # v2 has no facility; this reads only the status, in both
    "residence_changed": 1,
    "person_assigned_after_reorganisation": 1,  # a split commune's person assigned: followed like a move
    "records_merged": 1,
    "person_died": 1,
}


def registry_handler(cases: Cases) -> Callable[[AsyncConnection, Envelope], Awaitable[None]]:
    """The consumer's handler, given the cases service it hands a move or a death to."""

    async def on_registry_event(conn: AsyncConnection, env: Envelope) -> None:
        await apply_registry_event(cases, conn, env)

    return on_registry_event


async def apply_registry_event(cases: Cases, conn: AsyncConnection, env: Envelope) -> None:
    """Apply one registry event to the directory (inside the consumer's transaction)."""
    known = KNOWN_VERSIONS.get(env.event_type)
    if known is None:  # the registry is ahead of this service: park it until an upgrade, do not drop it
        raise UnknownEventError(f"unknown registry event type {env.event_type!r}: this service does not read it")
    if env.schema_version > known:
        raise UnknownEventError(f"{env.event_type} v{env.schema_version} is newer than this service reads (v{known})")
    p: dict[str, Any] = env.payload
    person = directory.c.person_id == env.stream_id
    await _apply(cases, conn, env, p, person)
    reached = func.greatest(directory.c.registry_version, env.stream_version)
    await conn.execute(update(directory).where(person).values(registry_version=reached))


async def _apply(cases: Cases, conn: AsyncConnection, env: Envelope, p: dict[str, Any], person: Any) -> None:
    match env.event_type:
        case "person_registered":
            row = {
                "person_id": env.stream_id,
                **commune_columns(cases.units, p["commune_code"], env.occurred_on),
                "status": p["status"],
                "sex": p.get("sex"),
                "birth_year": p.get("birth_year"),
                "on_record": True,
                "registry_version": env.stream_version,
            }
            await conn.execute(
                insert(directory).values(row).on_conflict_do_update(index_elements=["person_id"], set_=row)
            )
        case "addiction_determined":
            await conn.execute(update(directory).where(person).values(status=p["status"]))
        case "residence_changed" | "person_assigned_after_reorganisation":
            to, on = p["to_commune"], env.occurred_on
            await conn.execute(update(directory).where(person).values(commune_columns(cases.units, to, on)))
            await _follow_open_case(
                cases, conn, env, lambda case: case.transfer(cases.units.code_on(to, on, max(on, case.last_on)), on)
            )
        case "records_merged" if p.get("duplicate_id") == env.stream_id:
            await conn.execute(update(directory).where(person).values(on_record=False))
        case "person_died":
            await conn.execute(update(directory).where(person).values(on_record=False))
            await _follow_open_case(cases, conn, env, lambda case: case.close_on_death(env.occurred_on))


def commune_columns(units: AdminUnits, commune_code: str, recorded_on: date) -> dict[str, object]:
    """The commune as recorded, today's unit responsible for it and the date it was recorded."""
    return {
        "commune_code": commune_code,
        "unit_now": units.unit_now_or_code(commune_code, recorded_on),
        "unit_on": recorded_on,
    }


async def _follow_open_case(cases: Cases, conn: AsyncConnection, env: Envelope, decide: Decision) -> None:
    """A registry fact that changes the person's open case: a move carries it along, a death closes it."""
    open_case = await cases.views.open_case(conn, env.stream_id)
    if open_case is None:
        return
    ctx = CommandContext(actor=SYSTEM_ACTOR, correlation_id=env.correlation_id, causation_id=str(env.event_id))
    async with BoundUnitOfWork(conn) as uow:  # a savepoint: the consumer commits it with its position
        sealed = await cases.follow(uow, open_case[0], decide, ctx)
        await uow.commit()
    if sealed:
        log.info("case %s: %s after the registry's %s", open_case[0], sealed[0].event_type, env.event_type)


@dataclass(frozen=True)
class DirectoryWait:
    """Waits, bounded, until the directory has applied the registry writes a request names (`Rehab-After`).

    An official who registers a person and enrols them a second later is not told "unknown person" while the
    registration is still on its way; after `seconds` the command runs anyway and refuses as it would.
    """

    seconds: float
    interval: float = 0.05

    async def until_reached(self, engine: AsyncEngine, positions: list[tuple[str, int]]) -> bool:
        """True once every named person's directory row has reached its version, False when the bound ran out."""
        if not positions:
            return True
        deadline = asyncio.get_running_loop().time() + self.seconds
        wanted = dict(positions)
        while True:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(directory.c.person_id, directory.c.registry_version).where(
                        directory.c.person_id.in_(list(wanted))
                    )
                )
                reached = {r.person_id: r.registry_version for r in rows}
            if all(reached.get(p, 0) >= v for p, v in wanted.items()):
                return True
            if asyncio.get_running_loop().time() >= deadline:
                log.info("directory had not reached %s after %.1f s", positions, self.seconds)
                return False
            await asyncio.sleep(self.interval)
