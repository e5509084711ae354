"""The reporting service's own table beside the kernel's: which generation of fact tables is live (facts.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import CheckConstraint, Column, DateTime, Integer, MetaData, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

MIGRATIONS = [Path(__file__).with_name("migrations")]  # its Alembic revisions, after the kernel's

metadata = MetaData()

generation = Table(  # one row: the generation reads use, and the one a rebuild is filling
    "generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("current", Integer, nullable=False),
    Column("building", Integer),
    Column("state", Text, nullable=False, server_default=text("'live'")),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'")),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    CheckConstraint("id = 1", name="generation_id_check"),
)
