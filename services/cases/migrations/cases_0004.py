"""the duties of issue 16 item 7: drug tests, the moves of managed persons with their deadlines, electronic
monitoring orders; and the positive test of a post-rehab management awaiting a decision"""

from itertools import groupby

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from services.cases.domain.rules import rulebook
from services.cases.projection import duty_rows
from shared.kernel.events import Envelope

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
    moves = _moves_already_made(op.get_bind())
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
    if moves:
        op.bulk_insert(sa.table("case_moves", *(sa.column(name) for name in moves[0])), moves)


def _moves_already_made(conn: sa.Connection) -> list[dict[str, object]]:
    """The moves made under post-rehab management before this revision, with the duties they owe: the same rows
    the projection writes (the other duties' events did not exist before it)."""
    events = conn.execute(
        sa.text(
            "SELECT stream_id, envelope FROM events WHERE stream_id IN"
            " (SELECT stream_id FROM events WHERE event_type = 'case_transferred') ORDER BY stream_id, stream_version"
        )
    )
    rows: list[dict[str, object]] = []
    for case_id, stream in groupby(events, key=lambda e: str(e.stream_id)):
        history = [Envelope.model_validate(e.envelope) for e in stream]
        rows.extend(duty_rows(case_id, history, {}, rulebook())["case_moves"])
    return rows
