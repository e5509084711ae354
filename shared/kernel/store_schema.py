"""The kernel's tables in every service schema: events, event notes, outbox, consumer positions, dead letters.

Declared once, here; shared/kernel/migrations/kernel/ holds the Alembic revisions that built them, and
tests/integration/test_migrations.py proves the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.kernel.migrations import KERNEL_MIGRATIONS as KERNEL_MIGRATIONS  # where those revisions live

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("global_position", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("stream_id", Text, nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("envelope", JSONB, nullable=False),
    UniqueConstraint("event_id", name="events_event_id_key"),
    UniqueConstraint("stream_id", "stream_version", name="events_stream_version_key"),  # optimistic concurrency
    CheckConstraint("stream_version >= 1", name="events_stream_version_check"),
)

event_notes = Table(  # free text of an event, kept in the service and never published (shared/kernel/notes.py)
    "event_notes",
    metadata,
    Column("event_id", UUID(as_uuid=True), ForeignKey("events.event_id"), primary_key=True),
    Column("field", Text, primary_key=True),
    Column("text", Text, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("topic", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Index("outbox_pending", "id", postgresql_where=text("published_at IS NULL")),  # the relay's backlog
)

consumer_positions = Table(
    "consumer_positions",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("stream_id", Text, primary_key=True),
    Column("stream_version", Integer, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("consumer", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("kafka_partition", Integer, nullable=False),
    Column("kafka_offset", BigInteger, nullable=False),
    Column("event_id", UUID(as_uuid=True)),
    Column("stream_id", Text),
    Column("stream_version", Integer),
    Column("error", Text, nullable=False),
    Column("dead_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("resolved_at", DateTime(timezone=True)),
)
