"""The cases service's tables beside the kernel's: its directory of persons, the cases read model, the audit log."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from shared.audit import AUDIT_LOG_DDL, SEAL
from shared.audit import audit_log as audit_log  # who read which person's cases: shared/audit.py declares it
from shared.migrations import Migration

metadata = MetaData()

directory = Table(
    "directory",
    metadata,
    Column("person_id", UUID(as_uuid=False), primary_key=True),
    Column("commune_code", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("sex", Text),
    Column("birth_year", Integer),
    Column("on_record", Boolean, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", UUID(as_uuid=False), primary_key=True),
    Column("person_id", UUID(as_uuid=False), nullable=False),
    Column("commune_code", Text, nullable=False),
    Column("modality", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("decision_number", Text, nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("started_on", Date, nullable=False),
    Column("planned_months", Integer),
    Column("planned_end", Date),
    Column("facility", Text),
    Column("court_decision_number", Text),
    Column("sex", Text),
    Column("birth_year", Integer),
    Column("absconded_on", Date),
    Column("absconded_days", Integer, nullable=False),
    Column("completed_on", Date),
    Column("certificate_number", Text),
    Column("post_rehab_decision_number", Text),
    Column("post_rehab_decided_on", Date),
    Column("post_rehab_starts_on", Date),
    Column("post_rehab_months", Integer),
    Column("post_rehab_ends_on", Date),
    Column("mentor", Text),
    Column("post_rehab_certificate_number", Text),
    Column("closed_on", Date),
    Column("close_reason", Text),
    Column("relapsed_on", Date),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

MIGRATIONS = [
    Migration(
        "cases",
        1,
        "directory of persons, cases read model with one open case per person",
        """
CREATE TABLE directory (
    person_id    UUID PRIMARY KEY,
    commune_code TEXT NOT NULL,
    status       TEXT NOT NULL,
    sex          TEXT,
    birth_year   INT,
    on_record    BOOLEAN NOT NULL
);
CREATE TABLE cases (
    case_id                       UUID PRIMARY KEY,
    person_id                     UUID NOT NULL,
    commune_code                  TEXT NOT NULL,
    modality                      TEXT NOT NULL,
    state                         TEXT NOT NULL,
    version                       INT NOT NULL,
    decision_number               TEXT NOT NULL,
    decided_on                    DATE NOT NULL,
    started_on                    DATE NOT NULL,
    planned_months                INT,
    planned_end                   DATE,
    facility                      TEXT,
    court_decision_number         TEXT,
    sex                           TEXT,
    birth_year                    INT,
    absconded_on                  DATE,
    absconded_days                INT NOT NULL DEFAULT 0,
    completed_on                  DATE,
    certificate_number            TEXT,
    post_rehab_decision_number    TEXT,
    post_rehab_decided_on         DATE,
    post_rehab_starts_on          DATE,
    post_rehab_months             INT,
    post_rehab_ends_on            DATE,
    mentor                        TEXT,
    post_rehab_certificate_number TEXT,
    closed_on                     DATE,
    close_reason                  TEXT,
    relapsed_on                   DATE,
    updated_at                    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX one_open_case_per_person ON cases (person_id)
    WHERE state IN ('active', 'absconded', 'completed', 'post_rehab');
CREATE INDEX cases_by_unit ON cases (commune_code, state);
CREATE INDEX cases_by_person ON cases (person_id)""",
    ),
    Migration(
        "cases",
        2,
        "append-only audit log of reads of a person's cases, sealed: the service may only append and read",
        f"""{AUDIT_LOG_DDL};
{SEAL}""",
    ),
]
