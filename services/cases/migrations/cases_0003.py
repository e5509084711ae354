"""which course of rehab a case is (1 for a first one); rows of cases enrolled before it was counted stay null"""

import sqlalchemy as sa
from alembic import op

revision = "cases_0003"
down_revision = "cases_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("course_number", sa.Integer))
