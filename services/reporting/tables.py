"""The reporting service's own tables beside the kernel's: which generation of fact tables is live (facts.py), and
the submitted reports (the report cycle's read model)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
    true,
)
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
    # the live generation's event log holds every envelope it folded (false for one made before reporting_0003)
    Column("log_complete", Boolean, nullable=False, server_default=true()),
    CheckConstraint("id = 1", name="generation_id_check"),
)

submissions = Table(  # the report cycle's read model, written in the command's transaction (cycle.py)
    "report_submissions",
    metadata,
    Column("submission_id", Text, primary_key=True),
    Column("stream_id", Text, nullable=False),
    Column("number", Integer, nullable=False),  # 1 for the report's first submission, 2 after a return...
    Column("unit_code", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("known_at", DateTime(timezone=True), nullable=False),  # the facts as recorded up to this moment
    Column("sha256", Text, nullable=False),
    Column("status", Text, nullable=False),  # submitted, returned, approved, reopened
    Column("submitted_on", Date, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("submitted_by", JSONB, nullable=False),  # the actor: sub, role, unit
    Column("document_number", Text),
    Column("reviewed_at", DateTime(timezone=True)),
    Column("reviewed_by", JSONB),
    Column("review_document_number", Text),
    Index("report_submissions_unit_period", "unit_code", "period"),
    Index("report_submissions_known_at", "known_at"),
)

stragglers = Table(  # events recorded before a submission's known_at but delivered to reporting after it
    "report_stragglers",
    metadata,
    Column("submission_id", Text, primary_key=True),
    Column("stream_id", Text, primary_key=True),
    Column("version", Integer, primary_key=True),
)
