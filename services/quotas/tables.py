"""The quotas read model: the current version of every plan, with its place in the hierarchy."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from shared.migrations import Migration

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
)

MIGRATIONS = [
    Migration(
        "quotas",
        1,
        "plans read model",
        """
CREATE TABLE plans (
    year            INT NOT NULL,
    unit_code       TEXT NOT NULL,
    parent_code     TEXT,
    unit_name       TEXT NOT NULL,
    level           TEXT NOT NULL,
    revision        INT NOT NULL,
    version         INT NOT NULL,
    document_number TEXT NOT NULL,
    document_date   DATE,
    quotas          JSONB NOT NULL,
    targets         JSONB NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (year, unit_code)
);
CREATE INDEX plans_by_parent ON plans (year, parent_code)""",
    ),
]
