"""The registry's own tables beside the kernel's: the persons read model, the identity vault, imports, audit."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, Date, DateTime, Index, Integer, LargeBinary, MetaData, Table, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from shared.runtime.audit import audit_log_table
from shared.runtime.ratelimit import rate_limits_table

MIGRATIONS = [Path(__file__).with_name("migrations")]  # its Alembic revisions, after the kernel's

metadata = MetaData()
audit_log = audit_log_table(metadata)  # the registry's trail, sealed by the migration
# the province's and auditors' reads of refused registrations filter on the record's unit and the action
Index("audit_by_unit", audit_log.c.unit_code, audit_log.c.action, audit_log.c.at)
rate_limits = rate_limits_table(metadata)
EMPTY_LIST = text("'[]'")

persons = Table(
    "persons",
    metadata,
    Column("person_id", UUID(as_uuid=False), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("commune_code", Text, nullable=False),  # as recorded, in the edition of `unit_on`
    Column("unit_now", Text, nullable=False),  # today's unit responsible (AdminUnits.unit_now): what areas see
    Column("unit_on", Date, nullable=False),  # the legal date the commune code was recorded
    Column("status", Text, nullable=False),
    Column("sex", Text, nullable=False),
    Column("birth_year", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("merged_into", UUID(as_uuid=False)),
    Column("died_on", Date),
    Column("determinations", JSONB, nullable=False, server_default=EMPTY_LIST),
    Index("persons_by_commune", "commune_code", "status"),
    Index("persons_by_unit_now", "unit_now", "status"),
)

identities = Table(
    "identities",
    metadata,
    Column("person_id", UUID(as_uuid=False), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("citizen_key", Text, unique=True),
    Column("match_key", Text, nullable=False),
    Column("name_keys", ARRAY(Text), nullable=False),
    Index("identities_by_match", "match_key"),
    Index("identities_by_name", "name_keys", postgresql_using="gin"),
)

imports = Table(
    "imports",
    metadata,
    Column("import_id", UUID(as_uuid=False), primary_key=True),
    Column("file_sha256", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("sealed_rows", LargeBinary),  # the rows as read, sealed by the vault, while the import runs; NULL after
    Column("legacy_content", LargeBinary),  # a clear copy stored before registry_0002; sealed or dropped at startup
    Column("actor", JSONB, nullable=False),
    Column("correlation_id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("recorded_on", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("total", Integer),
    Column("processed", Integer, nullable=False, server_default=text("0")),
    Column("created", Integer, nullable=False, server_default=text("0")),
    Column("duplicates", Integer, nullable=False, server_default=text("0")),
    Column("rejected", JSONB, nullable=False, server_default=EMPTY_LIST),
    Column("flagged", JSONB, nullable=False, server_default=EMPTY_LIST),
    Column("error", Text),
    Column("submitted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Index("imports_unfinished", "submitted_at", postgresql_where=text("status IN ('queued', 'running')")),
)

import_rows = Table(
    "import_rows",
    metadata,
    Column("row_key", Text, primary_key=True),
    Column("person_id", UUID(as_uuid=False), nullable=False),
    Column("import_id", UUID(as_uuid=False), nullable=False),
)
