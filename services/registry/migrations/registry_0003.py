"""the audit log sealed: owned by audit_owner, the service may only append and read"""

from alembic import op

revision = "registry_0003"
down_revision = "registry_0002"
branch_labels = None
depends_on = None
replaces = "registry-audit:1"

# the table changes hands (deploy/local/postgres/schemas.sql), so nothing may alter it afterwards
SEAL = [
    "DO $$ BEGIN IF to_regprocedure('rehab_audit.seal(regclass)') IS NULL THEN"
    " RAISE EXCEPTION 'no rehab_audit.seal() here: run deploy/local/postgres/*.sql as a superuser'; END IF; END $$",
    "SELECT rehab_audit.seal('audit_log')",
]


def upgrade() -> None:
    # the province's and auditors' reads of refused registrations filter on the record's unit and the action
    op.create_index("audit_by_unit", "audit_log", ["unit_code", "action", "at"])
    for statement in SEAL:
        op.execute(statement)
