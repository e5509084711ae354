"""valid_to on the dated rows (residences, case units, planned ends): the next row's valid_from (fold._chain)"""

import sqlalchemy as sa
from alembic import op

revision = "reporting_0005"
down_revision = "reporting_0004"
branch_labels = None
depends_on = None

DATED = (("residences", "person_id"), ("case_units", "case_id"), ("case_planned_ends", "case_id"))


def upgrade() -> None:
    """A generation made from now on has the column from facts.py, filled by the fold; the ones a deployment has
    (the live one, and one a rebuild was filling) get it here, filled from their rows: each key's rows in the
    order a report picks the one valid on a day (valid_from, then version), each valid until the next one's."""
    conn = op.get_bind()
    row = conn.execute(sa.text("SELECT current, building FROM generation WHERE id = 1")).first()
    for generation in sorted({row.current, row.building} - {None}) if row is not None else []:
        g = f"g{generation}_"
        for table, key in DATED:
            if not conn.scalar(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{g}{table}"}):
                continue
            op.execute(f'ALTER TABLE "{g}{table}" ADD COLUMN IF NOT EXISTS valid_to date')
            op.execute(
                f'UPDATE "{g}{table}" t SET valid_to = n.valid_to'
                f" FROM (SELECT {key}, version,"
                f" lead(valid_from) OVER (PARTITION BY {key} ORDER BY valid_from, version) AS valid_to"
                f' FROM "{g}{table}") n'
                f" WHERE t.{key} = n.{key} AND t.version = n.version AND t.valid_to IS DISTINCT FROM n.valid_to"
            )
