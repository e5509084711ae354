"""directory of persons, cases read model with one open case per person"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "cases_0001"
down_revision = None
branch_labels = ("cases",)
depends_on = "kernel_0003"  # the kernel first, as every service schema has it
replaces = "cases:1"  # the old runner's step (shared/kernel/migrations/legacy.py)

OPEN = "state IN ('active', 'absconded', 'completed', 'post_rehab')"


def upgrade() -> None:
    op.create_table(
        "directory",
        sa.Column("person_id", UUID, primary_key=True),
        sa.Column("commune_code", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("sex", sa.Text),
        sa.Column("birth_year", sa.Integer),
        sa.Column("on_record", sa.Boolean, nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("case_id", UUID, primary_key=True),
        sa.Column("person_id", UUID, nullable=False),
        *(sa.Column(name, sa.Text, nullable=False) for name in ("commune_code", "modality", "state")),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("decision_number", sa.Text, nullable=False),
        sa.Column("decided_on", sa.Date, nullable=False),
        sa.Column("started_on", sa.Date, nullable=False),
        sa.Column("planned_months", sa.Integer),
        sa.Column("planned_end", sa.Date),
        sa.Column("facility", sa.Text),
        sa.Column("court_decision_number", sa.Text),
        sa.Column("sex", sa.Text),
        sa.Column("birth_year", sa.Integer),
        sa.Column("absconded_on", sa.Date),
        sa.Column("absconded_days", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("completed_on", sa.Date),
        sa.Column("certificate_number", sa.Text),
        sa.Column("post_rehab_decision_number", sa.Text),
        sa.Column("post_rehab_decided_on", sa.Date),
        sa.Column("post_rehab_starts_on", sa.Date),
        sa.Column("post_rehab_months", sa.Integer),
        sa.Column("post_rehab_ends_on", sa.Date),
        sa.Column("mentor", sa.Text),
        sa.Column("post_rehab_certificate_number", sa.Text),
        sa.Column("closed_on", sa.Date),
        sa.Column("close_reason", sa.Text),
        sa.Column("relapsed_on", sa.Date),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("one_open_case_per_person", "cases", ["person_id"], unique=True, postgresql_where=sa.text(OPEN))
    op.create_index("cases_by_unit", "cases", ["commune_code", "state"])
    op.create_index("cases_by_person", "cases", ["person_id"])
