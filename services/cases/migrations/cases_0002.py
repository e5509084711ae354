"""append-only audit log of reads of a person's cases, sealed: the service may only append and read"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "cases_0002"
down_revision = "cases_0001"
branch_labels = None
depends_on = None
replaces = "cases:2"

# the table changes hands (deploy/local/postgres/schemas.sql), so nothing may alter it afterwards
SEAL = [
    "DO $$ BEGIN IF to_regprocedure('rehab_audit.seal(regclass)') IS NULL THEN"
    " RAISE EXCEPTION 'no rehab_audit.seal() here: run deploy/local/postgres/*.sql as a superuser'; END IF; END $$",
    "SELECT rehab_audit.seal('audit_log')",
]


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        *(sa.Column(name, sa.Text, nullable=False) for name in ("sub", "role", "unit", "action")),
        sa.Column("person_id", UUID),
        sa.Column("unit_code", sa.Text),
        sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("correlation_id", sa.Text),
    )
    op.create_index("audit_by_person", "audit_log", ["person_id", "at"])
    for statement in SEAL:
        op.execute(statement)
