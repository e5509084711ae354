"""The reporting projections: fact tables folded from every topic, kept in numbered generations.

Reads use the current generation; a rebuild fills the next one from offset 0 and swaps it in when caught up.
Each fact row remembers the last stream version applied to it, so a duplicate or replayed event changes nothing.
Beside the folded rows, each generation keeps the envelopes it folded (`events`) with their recorded times: the
facts as they were known at any moment can be folded again from them (known.py), which a submitted report needs.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Column, Date, DateTime, Index, Integer, MetaData, Table, Text, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.reporting.tables import MIGRATIONS as MIGRATIONS  # the service's revisions


@dataclass(frozen=True)
class Facts:
    """The fact tables of one generation."""

    generation: int
    persons: Table
    residences: Table
    cases: Table
    case_units: Table
    abscondments: Table
    case_planned_ends: Table
    plans: Table
    topics: Table
    events: Table

    def all(self) -> list[Table]:
        return [
            self.persons,
            self.residences,
            self.cases,
            self.case_units,
            self.abscondments,
            self.case_planned_ends,
            self.plans,
            self.topics,
            self.events,
        ]


@cache
def facts(generation: int) -> Facts:
    """Table objects for generation `generation` (names g<N>_...)."""
    md = MetaData()
    g = f"g{generation}_"
    return Facts(
        generation,
        Table(
            f"{g}persons",
            md,
            Column("person_id", Text, primary_key=True),
            Column("version", Integer, nullable=False),
            Column("registered_on", Date),
            Column("sex", Text),
            Column("birth_year", Integer),
            Column("status", Text),
            Column("addict_on", Date),
            Column("closed_on", Date),
            *_latest(g, "persons"),
        ),
        Table(
            f"{g}residences",
            md,
            Column("person_id", Text, primary_key=True),
            Column("version", Integer, primary_key=True),
            Column("valid_from", Date, nullable=False),
            Column("valid_to", Date),  # the next row's valid_from (fold._chain): valid on valid_from <= d < valid_to
            Column("commune_code", Text, nullable=False),
            Index(f"{g}residences_commune", "commune_code", "person_id"),  # who was ever filed in a report's scope
            _superseded(g, "residences"),
        ),
        Table(
            f"{g}cases",
            md,
            Column("case_id", Text, primary_key=True),
            Column("version", Integer, nullable=False),
            Column("person_id", Text),
            Column("modality", Text),
            Column("started_on", Date),
            Column("sex", Text),
            Column("birth_year", Integer),
            Column("enrolled_commune", Text),
            Column("planned_months", Integer),
            Column("completed_on", Date),
            Column("post_rehab_decided_on", Date),
            Column("post_rehab_ends_on", Date),
            Column("closed_on", Date),
            Column("closed_as", Text),
            Index(f"{g}cases_started", "started_on"),
            Index(f"{g}cases_person", "person_id"),
            Index(f"{g}cases_enrolled", "enrolled_commune", "started_on"),  # a scope's enrolments of a period
            Index(f"{g}cases_completed", "completed_on"),  # completers of a period
            *_latest(g, "cases"),
        ),
        Table(
            f"{g}case_units",
            md,
            Column("case_id", Text, primary_key=True),
            Column("version", Integer, primary_key=True),
            Column("valid_from", Date, nullable=False),
            Column("valid_to", Date),
            Column("commune_code", Text, nullable=False),
            Index(f"{g}case_units_commune", "commune_code", "case_id"),  # which cases were ever in a report's scope
            _superseded(g, "case_units"),
        ),
        Table(
            f"{g}abscondments",
            md,
            Column("case_id", Text, primary_key=True),
            Column("version", Integer, primary_key=True),
            Column("absconded_on", Date, nullable=False),
            Column("returned_on", Date),
        ),
        Table(  # shared/vn/rulebook.planned_end as of each date: one row at enrolment, one more at each return
            f"{g}case_planned_ends",
            md,
            Column("case_id", Text, primary_key=True),
            Column("version", Integer, primary_key=True),
            Column("valid_from", Date, nullable=False),
            Column("valid_to", Date),
            Column("planned_end", Date, nullable=False),
        ),
        Table(
            f"{g}plans",
            md,
            Column("year", Integer, primary_key=True),
            Column("unit_code", Text, primary_key=True),
            Column("version", Integer, nullable=False),
            Column("quotas", JSONB, nullable=False),
            Column("targets", JSONB, nullable=False),
        ),
        Table(
            f"{g}topics",
            md,
            Column("topic", Text, primary_key=True),
            Column("events", Integer, nullable=False),
            Column("last_event_at", DateTime(timezone=True)),
        ),
        Table(  # every envelope folded, with its recorded time: what was known when (known.py)
            f"{g}events",
            md,
            Column("stream_id", Text, primary_key=True),
            Column("version", Integer, primary_key=True),
            Column("recorded_at", DateTime(timezone=True), nullable=False),
            Column("envelope", JSONB, nullable=False),
            Index(f"{g}events_recorded", "recorded_at"),
        ),
    )


def _latest(g: str, table: str) -> tuple[Column[Any], Column[Any], Index]:
    """A person's or case's unit from its latest dated row on (residences, case units; fold._chain keeps them):
    the unit it has on any day from `latest_from` on, read from the row itself, found by the unit's index. A report
    below the nation finds most of its people and cases by it (indicators._scoped)."""
    return (
        Column("latest_commune", Text),
        Column("latest_from", Date),
        Index(f"{g}{table}_latest", "latest_commune"),
    )


def _superseded(g: str, table: str) -> Index:
    """The dated rows another one follows (a move, a transfer): few, and the only ones a report as of a day before
    the latest row's must look up (indicators._scoped)."""
    return Index(f"{g}{table}_superseded", "commune_code", postgresql_where=text("valid_to IS NOT NULL"))


async def create_generation(conn: AsyncConnection, generation: int) -> Facts:
    """Fresh, empty fact tables for `generation` (dropping leftovers of an interrupted rebuild)."""
    tables = facts(generation)
    for table in reversed(tables.all()):
        await conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}"'))
    for table in tables.all():  # not a migration: each rebuild makes a new generation from these declarations
        await conn.run_sync(table.create)
    return tables


async def drop_generation(conn: AsyncConnection, generation: int) -> None:
    for table in facts(generation).all():
        await conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}"'))


async def current(conn: AsyncConnection) -> Facts:
    """The generation reads and the live consumer use."""
    generation = await conn.scalar(text("SELECT current FROM generation WHERE id = 1"))
    return facts(int(generation or 0))


async def ensure_live_generation(conn: AsyncConnection) -> None:
    """On first start, generation 0's tables do not exist yet: create them."""
    exists = await conn.scalar(text("SELECT to_regclass('g0_persons') IS NOT NULL"))
    if not exists and await conn.scalar(select(text("current")).select_from(text("generation"))) == 0:
        await create_generation(conn, 0)


@asynccontextmanager
async def shared_snapshot(
    engine: AsyncEngine, conn: AsyncConnection, lanes: int
) -> AsyncIterator[list[AsyncConnection]]:
    """`lanes` more connections, each in a transaction that reads exactly what `conn`'s reads (PostgreSQL's exported
    snapshot): a report's statements can then run side by side, on as many cores, and still see one state of the
    facts. `conn` must be in a REPEATABLE READ transaction that has run a statement, and outlive the block.
    """
    if lanes <= 0:
        yield []
        return
    snapshot = str(await conn.scalar(text("SELECT pg_export_snapshot()")))
    if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot):  # it goes into the statement as a literal
        raise RuntimeError(f"unexpected snapshot id {snapshot[:40]!r}")
    async with AsyncExitStack() as stack:
        opened = []
        for _ in range(lanes):
            lane = await stack.enter_async_context(engine.begin())
            await lane.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            await lane.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
            opened.append(lane)
        yield opened
