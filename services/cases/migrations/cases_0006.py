"""directory.registry_version: the version of the person's registry stream the directory has applied

A command that depends on a registry write the same user just made waits until the directory has reached it
(shared/runtime/positions.py). Rows written before this revision start at 0: the next registry event of the person
sets the version, and a request waiting on an older record's position waits at most its bound.
"""

import sqlalchemy as sa
from alembic import op

revision = "cases_0006"
down_revision = "cases_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("directory", sa.Column("registry_version", sa.Integer, nullable=False, server_default=sa.text("0")))
