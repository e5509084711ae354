"""The quotas read model: the current version of every plan, with its place in the hierarchy."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, Date, DateTime, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

MIGRATIONS = [Path(__file__).with_name("migrations")]  # its Alembic revisions, after the kernel's

metadata = MetaData()

plans = Table(
    "plans",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("unit_code", Text, primary_key=True),
    Column("parent_code", Text),
    Column("unit_name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("document_number", Text, nullable=False),
    Column("document_date", Date),
    Column("quotas", JSONB, nullable=False),
    Column("targets", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("plans_by_parent", "year", "parent_code"),
)
