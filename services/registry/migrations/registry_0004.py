"""per-account rate-limit state, shared by every replica"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "registry_0004"
down_revision = "registry_0003"
branch_labels = None
depends_on = None
replaces = "rate-limits:1"


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("state", ARRAY(sa.BigInteger), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
