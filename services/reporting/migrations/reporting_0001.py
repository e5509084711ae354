"""generation pointer and rebuild status"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "reporting_0001"
down_revision = None
branch_labels = ("reporting",)
depends_on = "kernel_0003"  # the kernel first, as every service schema has it
replaces = "reporting:1"  # the old runner's step (shared/kernel/migrations/legacy.py)


def upgrade() -> None:
    generation = op.create_table(
        "generation",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("current", sa.Integer, nullable=False),
        sa.Column("building", sa.Integer),
        sa.Column("state", sa.Text, nullable=False, server_default=sa.text("'live'")),
        sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("id = 1", name="generation_id_check"),
    )
    op.bulk_insert(generation, [{"id": 1, "current": 0}])
