"""plans read model"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "quotas_0001"
down_revision = None
branch_labels = ("quotas",)
depends_on = "kernel_0003"  # the kernel first, as every service schema has it
replaces = "quotas:1"  # the old runner's step (shared/kernel/migrations/legacy.py)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("unit_code", sa.Text, primary_key=True),
        sa.Column("parent_code", sa.Text),
        sa.Column("unit_name", sa.Text, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document_number", sa.Text, nullable=False),
        sa.Column("document_date", sa.Date),
        sa.Column("quotas", JSONB, nullable=False),
        sa.Column("targets", JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("plans_by_parent", "plans", ["year", "parent_code"])
