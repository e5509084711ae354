"""The cases service's tables beside the kernel's: its directory of persons, the cases read model (with the duties
of issue 16 item 7: drug tests, moves, electronic monitoring), the audit log."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Boolean, Column, Date, DateTime, Index, Integer, MetaData, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID

from shared.runtime.audit import audit_log_table

MIGRATIONS = [Path(__file__).with_name("migrations")]  # its Alembic revisions, after the kernel's

metadata = MetaData()
audit_log = audit_log_table(metadata)  # who read which person's cases, sealed by the migration

directory = Table(
    "directory",
    metadata,
    Column("person_id", UUID(as_uuid=False), primary_key=True),
    Column("commune_code", Text, nullable=False),  # as the registry recorded it, in the edition of `unit_on`
    Column("unit_now", Text, nullable=False),  # today's unit responsible (AdminUnits.unit_now)
    Column("unit_on", Date, nullable=False),  # the legal date the commune code was recorded
    Column("status", Text, nullable=False),
    Column("sex", Text),
    Column("birth_year", Integer),
    Column("on_record", Boolean, nullable=False),
    # the person's registry stream version applied here: what a read-your-own-writes wait compares with
    Column("registry_version", Integer, nullable=False, server_default=text("0")),
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", UUID(as_uuid=False), primary_key=True),
    Column("person_id", UUID(as_uuid=False), nullable=False),
    Column("commune_code", Text, nullable=False),  # the case's unit as recorded (its events' unit code)
    Column("unit_now", Text, nullable=False),  # today's unit responsible: what areas see
    Column("unit_on", Date, nullable=False),  # the date the case's unit was recorded (enrolment or transfer)
    Column("modality", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("decision_number", Text, nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("started_on", Date, nullable=False),
    Column("planned_months", Integer),
    Column("course_number", Integer),  # 1: a first course of rehab; 2+: after earlier ones
    Column("planned_end", Date),
    Column("facility", Text),
    Column("court_decision_number", Text),
    Column("sex", Text),
    Column("birth_year", Integer),
    Column("absconded_on", Date),
    Column("absconded_days", Integer, nullable=False, server_default=text("0")),
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
    Column("positive_test_on", Date),  # a positive test during post-rehab management awaiting a decision
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(
        "one_open_case_per_person",
        "person_id",
        unique=True,
        postgresql_where=text("state IN ('active', 'absconded', 'completed', 'post_rehab')"),
    ),
    Index("cases_by_unit", "commune_code", "state"),
    Index("cases_by_unit_now", "unit_now", "state"),
    Index("cases_by_person", "person_id"),
)

# The duties, one row per event that created them, rewritten from the case's history with its row
drug_tests = Table(
    "drug_tests",
    metadata,
    Column("case_id", UUID(as_uuid=False), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("tested_on", Date, nullable=False),
    Column("result", Text, nullable=False),
    Column("during", Text, nullable=False),
    Column("facility", Text),
)

case_moves = Table(
    "case_moves",
    metadata,
    Column("case_id", UUID(as_uuid=False), primary_key=True),
    Column("version", Integer, primary_key=True),  # the stream version of the case_transferred event
    Column("person_id", UUID(as_uuid=False), nullable=False),
    Column("from_commune", Text, nullable=False),
    Column("to_commune", Text, nullable=False),
    Column("moved_on", Date, nullable=False),
    Column("notice_due_on", Date),  # null: the law in force on the move date sets no deadline
    Column("noticed_on", Date),
    Column("report_due_on", Date),
    Column("reported_on", Date),
    Column("rules_from", Date, nullable=False),  # the rule set in force on the move date
    Index("case_moves_by_sender", "from_commune"),
    Index("case_moves_by_receiver", "to_commune"),
)

monitoring_orders = Table(
    "monitoring_orders",
    metadata,
    Column("case_id", UUID(as_uuid=False), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("ordered_by", Text, nullable=False),  # the account (token subject) that recorded the order
    Column("ordered_by_unit", Text, nullable=False),
    Column("ordered_on", Date, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("ended_on", Date),
)
