"""persons read model, identity vault, imports, append-only audit log"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "registry_0001"
down_revision = None
branch_labels = ("registry",)
depends_on = "kernel_0003"  # the kernel first, as every service schema has it
replaces = "registry:1"  # the old runner's step (shared/kernel/migrations/legacy.py)

APPEND_ONLY = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("person_id", UUID, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        *(sa.Column(name, sa.Text, nullable=False) for name in ("commune_code", "status", "sex")),
        sa.Column("birth_year", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("registered_on", sa.Date, nullable=False),
        sa.Column("merged_into", UUID),
        sa.Column("died_on", sa.Date),
        sa.Column("determinations", JSONB, nullable=False, server_default=sa.text("'[]'")),
    )
    op.create_index("persons_by_commune", "persons", ["commune_code", "status"])
    op.create_table(
        "identities",
        sa.Column("person_id", UUID, primary_key=True),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("citizen_key", sa.Text, unique=True),
        sa.Column("match_key", sa.Text, nullable=False),
        sa.Column("name_keys", ARRAY(sa.Text), nullable=False),
    )
    op.create_index("identities_by_match", "identities", ["match_key"])
    op.create_index("identities_by_name", "identities", ["name_keys"], postgresql_using="gin")
    _imports()
    op.create_table(
        "import_rows",
        sa.Column("row_key", sa.Text, primary_key=True),
        sa.Column("person_id", UUID, nullable=False),
        sa.Column("import_id", UUID, nullable=False),
    )
    _audit_log()


def _imports() -> None:
    op.create_table(
        "imports",
        sa.Column("import_id", UUID, primary_key=True),
        sa.Column("file_sha256", sa.Text, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("actor", JSONB, nullable=False),
        sa.Column("correlation_id", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("recorded_on", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("total", sa.Integer),
        *(
            sa.Column(name, sa.Integer, nullable=False, server_default="0")
            for name in ("processed", "created", "duplicates")
        ),
        *(sa.Column(name, JSONB, nullable=False, server_default=sa.text("'[]'")) for name in ("rejected", "flagged")),
        sa.Column("error", sa.Text),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    unfinished = sa.text("status IN ('queued', 'running')")
    op.create_index("imports_unfinished", "imports", ["submitted_at"], postgresql_where=unfinished)


def _audit_log() -> None:
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
    for statement in APPEND_ONLY:
        op.execute(statement)
