"""dead letters remember when a replay applied them"""

import sqlalchemy as sa
from alembic import op

revision = "kernel_0002"
down_revision = "kernel_0001"
branch_labels = None
depends_on = None
replaces = "kernel:2"


def upgrade() -> None:
    op.add_column("dead_letters", sa.Column("resolved_at", sa.DateTime(timezone=True)))
