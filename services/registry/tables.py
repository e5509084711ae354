"""The registry's own tables beside the kernel's: the persons read model, the identity vault, imports, audit."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, LargeBinary, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from shared.audit import SEAL
from shared.audit import audit_log as audit_log  # the registry's trail: shared/audit.py declares it
from shared.migrations import Migration
from shared.ratelimit import MIGRATION as RATE_LIMITS

metadata = MetaData()

persons = Table(
    "persons",
    metadata,
    Column("person_id", UUID(as_uuid=False), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("commune_code", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("sex", Text, nullable=False),
    Column("birth_year", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("merged_into", UUID(as_uuid=False)),
    Column("died_on", Date),
    Column("determinations", JSONB, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("person_id", UUID(as_uuid=False), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("citizen_key", Text),
    Column("match_key", Text, nullable=False),
    Column("name_keys", ARRAY(Text), nullable=False),
)

imports = Table(
    "imports",
    metadata,
    Column("import_id", UUID(as_uuid=False), primary_key=True),
    Column("file_sha256", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("sealed_rows", LargeBinary),  # the rows as read, sealed by the vault, while the import runs; NULL after
    Column("legacy_content", LargeBinary),  # a clear copy stored before migration 2; sealed or dropped at startup
    Column("actor", JSONB, nullable=False),
    Column("correlation_id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("recorded_on", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("total", Integer),
    Column("processed", Integer, nullable=False),
    Column("created", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("rejected", JSONB, nullable=False),
    Column("flagged", JSONB, nullable=False),
    Column("error", Text),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

import_rows = Table(
    "import_rows",
    metadata,
    Column("row_key", Text, primary_key=True),
    Column("person_id", UUID(as_uuid=False), nullable=False),
    Column("import_id", UUID(as_uuid=False), nullable=False),
)

MIGRATIONS = [
    Migration(
        "registry",
        1,
        "persons read model, identity vault, imports, append-only audit log",
        """
CREATE TABLE persons (
    person_id      UUID PRIMARY KEY,
    version        INT NOT NULL,
    commune_code   TEXT NOT NULL,
    status         TEXT NOT NULL,
    sex            TEXT NOT NULL,
    birth_year     INT NOT NULL,
    source         TEXT NOT NULL,
    registered_on  DATE NOT NULL,
    merged_into    UUID,
    died_on        DATE,
    determinations JSONB NOT NULL DEFAULT '[]'
);
CREATE INDEX persons_by_commune ON persons (commune_code, status);
CREATE TABLE identities (
    person_id   UUID PRIMARY KEY,
    sealed      BYTEA NOT NULL,
    citizen_key TEXT UNIQUE,
    match_key   TEXT NOT NULL,
    name_keys   TEXT[] NOT NULL
);
CREATE INDEX identities_by_match ON identities (match_key);
CREATE INDEX identities_by_name ON identities USING GIN (name_keys);
CREATE TABLE imports (
    import_id      UUID PRIMARY KEY,
    file_sha256    TEXT NOT NULL,
    filename       TEXT NOT NULL,
    content        BYTEA NOT NULL,
    actor          JSONB NOT NULL,
    correlation_id TEXT NOT NULL,
    source         TEXT NOT NULL,
    recorded_on    DATE NOT NULL,
    status         TEXT NOT NULL,
    total          INT,
    processed      INT NOT NULL DEFAULT 0,
    created        INT NOT NULL DEFAULT 0,
    duplicates     INT NOT NULL DEFAULT 0,
    rejected       JSONB NOT NULL DEFAULT '[]',
    flagged        JSONB NOT NULL DEFAULT '[]',
    error          TEXT,
    submitted_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at    TIMESTAMPTZ
);
CREATE INDEX imports_unfinished ON imports (submitted_at) WHERE status IN ('queued', 'running');
CREATE TABLE import_rows (
    row_key   TEXT PRIMARY KEY,
    person_id UUID NOT NULL,
    import_id UUID NOT NULL
);
CREATE TABLE audit_log (
    id             BIGSERIAL PRIMARY KEY,
    at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    sub            TEXT NOT NULL,
    role           TEXT NOT NULL,
    unit           TEXT NOT NULL,
    action         TEXT NOT NULL,
    person_id      UUID,
    unit_code      TEXT,
    detail         JSONB NOT NULL DEFAULT '{}',
    correlation_id TEXT
);
CREATE INDEX audit_by_person ON audit_log (person_id, at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
    ),
    Migration(
        "registry",
        2,
        "imports keep the rows they read sealed, and only while they run",
        # SQL cannot seal: the clear copies move aside here and the import worker seals or drops them at startup
        """
ALTER TABLE imports RENAME COLUMN content TO legacy_content;
ALTER TABLE imports ALTER COLUMN legacy_content DROP NOT NULL;
ALTER TABLE imports ADD COLUMN sealed_rows BYTEA""",
    ),
    Migration(
        "registry-audit",
        1,
        "the audit log sealed: owned by audit_owner, the service may only append and read",
        # the province's and auditors' reads of refused registrations filter on the record's unit and the action
        f"""
CREATE INDEX audit_by_unit ON audit_log (unit_code, action, at);
{SEAL}""",
    ),
    RATE_LIMITS,
]
