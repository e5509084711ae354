"""event notes: an event's free text, kept beside it and never published"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "kernel_0003"
down_revision = "kernel_0002"
branch_labels = None
depends_on = None
replaces = "kernel:3"


def upgrade() -> None:
    op.create_table(
        "event_notes",
        sa.Column("event_id", UUID(as_uuid=True), sa.ForeignKey("events.event_id"), primary_key=True),
        sa.Column("field", sa.Text, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
    )
