"""planned ends as dated facts (case_planned_ends), added to the generations that exist and filled from their facts"""

from datetime import date

import sqlalchemy as sa
from alembic import op

from shared.vn.rulebook import planned_end

revision = "reporting_0002"
down_revision = "reporting_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Generations are created from services/reporting/facts.py, so new ones have the table already.

    The ones a running deployment has (the live one, and one a rebuild was filling) get it here, filled the way
    the fold fills it: a row at enrolment, and one at each return with the end pushed back by the spells ended
    by then. A return's own stream version is not among the facts: its row takes its spell's (the abscondment
    is the version before the return, so the order of the rows is the same).
    """
    conn = op.get_bind()
    row = conn.execute(sa.text("SELECT current, building FROM generation WHERE id = 1")).first()
    for generation in sorted({row.current, row.building} - {None}) if row is not None else []:
        g = f"g{generation}_"
        if not conn.scalar(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{g}cases"}):
            continue  # created at start-up from the declarations (facts.ensure_live_generation)
        if conn.scalar(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{g}case_planned_ends"}):
            continue
        table = op.create_table(
            f"{g}case_planned_ends",
            sa.Column("case_id", sa.Text, primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("valid_from", sa.Date, nullable=False),
            sa.Column("planned_end", sa.Date, nullable=False),
        )
        rows = _planned_ends(conn, g)
        if rows:
            op.bulk_insert(table, rows)


def _planned_ends(conn: sa.Connection, g: str) -> list[dict[str, object]]:
    cases = conn.execute(
        sa.text(
            f"SELECT c.case_id, c.started_on, c.planned_months,"
            f" (SELECT coalesce(min(u.version), 1) FROM {g}case_units u WHERE u.case_id = c.case_id) AS version"
            f" FROM {g}cases c WHERE c.started_on IS NOT NULL AND c.planned_months IS NOT NULL"
        )
    )
    spells: dict[str, list[tuple[int, date, date]]] = {}
    for s in conn.execute(
        sa.text(
            f"SELECT case_id, version, absconded_on, returned_on FROM {g}abscondments"
            " WHERE returned_on IS NOT NULL ORDER BY case_id, version"
        )
    ):
        spells.setdefault(s.case_id, []).append((s.version, s.absconded_on, s.returned_on))
    rows: list[dict[str, object]] = []
    for c in cases:
        rows.append(
            {
                "case_id": c.case_id,
                "version": c.version,
                "valid_from": c.started_on,
                "planned_end": planned_end(c.started_on, c.planned_months),
            }
        )
        away = 0
        for version, absconded_on, returned_on in spells.get(c.case_id, []):
            away += (returned_on - absconded_on).days
            rows.append(
                {
                    "case_id": c.case_id,
                    "version": version,
                    "valid_from": returned_on,
                    "planned_end": planned_end(c.started_on, c.planned_months, away),
                }
            )
    return rows
