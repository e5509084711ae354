"""imports keep the rows they read sealed, and only while they run"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0002"
down_revision = "registry_0001"
branch_labels = None
depends_on = None
replaces = "registry:2"


def upgrade() -> None:
    # SQL cannot seal: the clear copies move aside here and the import worker seals or drops them at startup
    op.alter_column("imports", "content", new_column_name="legacy_content")
    op.alter_column("imports", "legacy_content", nullable=True)
    op.add_column("imports", sa.Column("sealed_rows", sa.LargeBinary))
