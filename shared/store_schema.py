"""The kernel's tables in every service schema: events, event notes, outbox, consumer positions, dead letters."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.migrations import Migration

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("global_position", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("stream_id", Text, nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("envelope", JSONB, nullable=False),
)

event_notes = Table(  # free text of an event, kept in the service and never published (shared/notes.py)
    "event_notes",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
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
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
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
    Column("dead_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
)

KERNEL_MIGRATIONS = [
    Migration(
        "kernel",
        1,
        "event store, outbox, consumer positions, dead letters",
        """
CREATE TABLE events (
    global_position BIGSERIAL PRIMARY KEY,
    event_id        UUID NOT NULL UNIQUE,
    stream_id       TEXT NOT NULL,
    stream_version  INT NOT NULL CHECK (stream_version >= 1),
    event_type      TEXT NOT NULL,
    schema_version  INT NOT NULL,
    occurred_on     DATE NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    envelope        JSONB NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);
CREATE TABLE outbox (
    id           BIGSERIAL PRIMARY KEY,
    event_id     UUID NOT NULL,
    topic        TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        BYTEA NOT NULL,
    headers      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
CREATE TABLE consumer_positions (
    consumer       TEXT NOT NULL,
    stream_id      TEXT NOT NULL,
    stream_version INT NOT NULL,
    PRIMARY KEY (consumer, stream_id)
);
CREATE TABLE dead_letters (
    id           BIGSERIAL PRIMARY KEY,
    consumer     TEXT NOT NULL,
    topic        TEXT NOT NULL,
    kafka_partition INT NOT NULL,
    kafka_offset BIGINT NOT NULL,
    event_id     UUID,
    stream_id    TEXT,
    stream_version INT,
    error        TEXT NOT NULL,
    dead_at      TIMESTAMPTZ NOT NULL DEFAULT now()
)""",
    ),
    Migration(
        "kernel",
        2,
        "dead letters remember when a replay applied them",
        "ALTER TABLE dead_letters ADD COLUMN resolved_at TIMESTAMPTZ",
    ),
    Migration(
        "kernel",
        3,
        "event notes: an event's free text, kept beside it and never published",
        """
CREATE TABLE event_notes (
    event_id UUID NOT NULL REFERENCES events (event_id),
    field    TEXT NOT NULL,
    text     TEXT NOT NULL,
    PRIMARY KEY (event_id, field)
)""",
    ),
]
