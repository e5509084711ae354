"""the report cycle: submitted reports, their stragglers, and each generation's event log (g<N>_events)"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "reporting_0003"
down_revision = "reporting_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The kernel's events, notes and outbox tables are in the schema already (kernel_0001..0003, before
    reporting_0001): the report cycle is the service's first write side and appends to them.

    A generation that exists gets an empty event log: the envelopes it folded before are on the topics only, so
    `POST /projections/rebuild` must run once before the first report is submitted (a fresh generation fills it);
    until then a submission is refused with `rebuild_required` rather than made from a partial log.
    """
    op.create_table(
        "report_submissions",
        sa.Column("submission_id", sa.Text, primary_key=True),
        sa.Column("stream_id", sa.Text, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("unit_code", sa.Text, nullable=False),
        sa.Column("period", sa.Text, nullable=False),
        sa.Column("known_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("submitted_on", sa.Date, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", JSONB, nullable=False),
        sa.Column("document_number", sa.Text),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("reviewed_by", JSONB),
        sa.Column("review_document_number", sa.Text),
    )
    op.create_index("report_submissions_unit_period", "report_submissions", ["unit_code", "period"])
    op.create_index("report_submissions_known_at", "report_submissions", ["known_at"])
    op.create_table(
        "report_stragglers",
        sa.Column("submission_id", sa.Text, primary_key=True),
        sa.Column("stream_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
    )
    # Whether the live generation's event log holds everything it folded: not for one made before this revision,
    # until a rebuild swaps in a generation that logged as it folded (submissions are refused meanwhile).
    op.add_column("generation", sa.Column("log_complete", sa.Boolean, nullable=False, server_default=sa.true()))
    conn = op.get_bind()
    row = conn.execute(sa.text("SELECT current, building FROM generation WHERE id = 1")).first()
    for generation in sorted({row.current, row.building} - {None}) if row is not None else []:
        g = f"g{generation}_"
        if not conn.scalar(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{g}cases"}):
            continue  # created at start-up from the declarations (facts.ensure_live_generation)
        if conn.scalar(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{g}events"}):
            continue
        op.create_table(
            f"{g}events",
            sa.Column("stream_id", sa.Text, primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("envelope", JSONB, nullable=False),
        )
        op.create_index(f"{g}events_recorded", f"{g}events", ["recorded_at"])
        if (
            row is not None
            and generation == row.current
            and conn.scalar(sa.text(f'SELECT EXISTS (SELECT FROM "{g}cases")'))
        ):
            op.execute("UPDATE generation SET log_complete = false WHERE id = 1")
