"""the duties of issue 16 item 7: drug tests, the moves of managed persons with their deadlines, electronic
monitoring orders; and the positive test of a post-rehab management awaiting a decision"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "cases_0004"
down_revision = "cases_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("positive_test_on", sa.Date))
    op.create_table(
        "drug_tests",
        sa.Column("case_id", UUID, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("tested_on", sa.Date, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("during", sa.Text, nullable=False),
        sa.Column("facility", sa.Text),
    )
    op.create_table(
        "case_moves",
        sa.Column("case_id", UUID, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("person_id", UUID, nullable=False),
        sa.Column("from_commune", sa.Text, nullable=False),
        sa.Column("to_commune", sa.Text, nullable=False),
        sa.Column("moved_on", sa.Date, nullable=False),
        sa.Column("notice_due_on", sa.Date),
        sa.Column("noticed_on", sa.Date),
        sa.Column("report_due_on", sa.Date),
        sa.Column("reported_on", sa.Date),
        sa.Column("rules_from", sa.Date, nullable=False),
    )
    op.create_index("case_moves_by_sender", "case_moves", ["from_commune"])
    op.create_index("case_moves_by_receiver", "case_moves", ["to_commune"])
    op.create_table(
        "monitoring_orders",
        sa.Column("case_id", UUID, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("ordered_by", sa.Text, nullable=False),
        sa.Column("ordered_by_unit", sa.Text, nullable=False),
        sa.Column("ordered_on", sa.Date, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("ended_on", sa.Date),
    )
