"""indexes for the reports at national scale: a scope's residences, case units and enrolments; completers by date"""

import sqlalchemy as sa
from alembic import op

revision = "reporting_0004"
down_revision = "reporting_0003"
branch_labels = None
depends_on = None

INDEXES = (  # (table, index, columns) as services/reporting/facts.py declares them for a new generation
    ("residences", "residences_commune", "commune_code, person_id"),
    ("case_units", "case_units_commune", "commune_code, case_id"),
    ("cases", "cases_enrolled", "enrolled_commune, started_on"),
    ("cases", "cases_completed", "completed_on"),
)


def upgrade() -> None:
    """A generation made from now on has them from facts.py; the ones a deployment has (the live one, and one a
    rebuild was filling) get them here. Not CONCURRENTLY: the migration runs in one transaction, and the
    writes to those tables wait for the build (seconds, at 250,000 people)."""
    conn = op.get_bind()
    row = conn.execute(sa.text("SELECT current, building FROM generation WHERE id = 1")).first()
    for generation in sorted({row.current, row.building} - {None}) if row is not None else []:
        g = f"g{generation}_"
        for table, index, columns in INDEXES:
            if conn.scalar(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{g}{table}"}):
                op.execute(f'CREATE INDEX IF NOT EXISTS "{g}{index}" ON "{g}{table}" ({columns})')
