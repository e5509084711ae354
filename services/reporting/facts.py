"""The reporting projections: fact tables folded from every topic, kept in numbered generations.

Reads use the current generation; a rebuild fills the next one from offset 0 and swaps it in when caught up.
Each fact row remembers the last stream version applied to it, so a duplicate or replayed event changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import Column, Date, DateTime, Integer, MetaData, Table, Text, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.migrations import Migration

MIGRATIONS = [
    Migration(
        "reporting",
        1,
        "generation pointer and rebuild status",
        """
CREATE TABLE generation (
    id          INT PRIMARY KEY CHECK (id = 1),
    current     INT NOT NULL,
    building    INT,
    state       TEXT NOT NULL DEFAULT 'live',
    detail      JSONB NOT NULL DEFAULT '{}',
    started_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ
);
INSERT INTO generation (id, current) VALUES (1, 0)""",
    ),
]


@dataclass(frozen=True)
class Facts:
    """The fact tables of one generation."""

    generation: int
    persons: Table
    residences: Table
    cases: Table
    case_units: Table
    abscondments: Table
    plans: Table
    topics: Table

    def all(self) -> list[Table]:
        return [self.persons, self.residences, self.cases, self.case_units, self.abscondments, self.plans, self.topics]


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
            Column("version", Integer),
            Column("registered_on", Date),
            Column("sex", Text),
            Column("birth_year", Integer),
            Column("status", Text),
            Column("addict_on", Date),
            Column("closed_on", Date),
        ),
        Table(
            f"{g}residences",
            md,
            Column("person_id", Text, primary_key=True),
            Column("version", Integer, primary_key=True),
            Column("valid_from", Date, nullable=False),
            Column("commune_code", Text, nullable=False),
        ),
        Table(
            f"{g}cases",
            md,
            Column("case_id", Text, primary_key=True),
            Column("version", Integer),
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
        ),
        Table(
            f"{g}case_units",
            md,
            Column("case_id", Text, primary_key=True),
            Column("version", Integer, primary_key=True),
            Column("valid_from", Date, nullable=False),
            Column("commune_code", Text, nullable=False),
        ),
        Table(
            f"{g}abscondments",
            md,
            Column("case_id", Text, primary_key=True),
            Column("version", Integer, primary_key=True),
            Column("absconded_on", Date, nullable=False),
            Column("returned_on", Date),
        ),
        Table(
            f"{g}plans",
            md,
            Column("year", Integer, primary_key=True),
            Column("unit_code", Text, primary_key=True),
            Column("version", Integer),
            Column("quotas", JSONB),
            Column("targets", JSONB),
        ),
        Table(
            f"{g}topics",
            md,
            Column("topic", Text, primary_key=True),
            Column("events", Integer),
            Column("last_event_at", DateTime(timezone=True)),
        ),
    )


DDL = [
    "CREATE TABLE {g}persons (person_id TEXT PRIMARY KEY, version INT NOT NULL, registered_on DATE, sex TEXT,"
    " birth_year INT, status TEXT, addict_on DATE, closed_on DATE)",
    "CREATE TABLE {g}residences (person_id TEXT NOT NULL, version INT NOT NULL, valid_from DATE NOT NULL,"
    " commune_code TEXT NOT NULL, PRIMARY KEY (person_id, version))",
    "CREATE TABLE {g}cases (case_id TEXT PRIMARY KEY, version INT NOT NULL, person_id TEXT, modality TEXT,"
    " started_on DATE, sex TEXT, birth_year INT, enrolled_commune TEXT, planned_months INT, completed_on DATE,"
    " post_rehab_decided_on DATE, post_rehab_ends_on DATE, closed_on DATE, closed_as TEXT)",
    "CREATE INDEX {g}cases_started ON {g}cases (started_on)",
    "CREATE INDEX {g}cases_person ON {g}cases (person_id)",
    "CREATE TABLE {g}case_units (case_id TEXT NOT NULL, version INT NOT NULL, valid_from DATE NOT NULL,"
    " commune_code TEXT NOT NULL, PRIMARY KEY (case_id, version))",
    "CREATE TABLE {g}abscondments (case_id TEXT NOT NULL, version INT NOT NULL, absconded_on DATE NOT NULL,"
    " returned_on DATE, PRIMARY KEY (case_id, version))",
    "CREATE TABLE {g}plans (year INT NOT NULL, unit_code TEXT NOT NULL, version INT NOT NULL, quotas JSONB NOT NULL,"
    " targets JSONB NOT NULL, PRIMARY KEY (year, unit_code))",
    "CREATE TABLE {g}topics (topic TEXT PRIMARY KEY, events INT NOT NULL, last_event_at TIMESTAMPTZ)",
]


async def create_generation(conn: AsyncConnection, generation: int) -> Facts:
    """Fresh, empty fact tables for `generation` (dropping leftovers of an interrupted rebuild)."""
    g = f"g{generation}_"
    for table in reversed(facts(generation).all()):
        await conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}"'))
    for statement in DDL:
        await conn.execute(text(statement.format(g=g)))
    return facts(generation)


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
