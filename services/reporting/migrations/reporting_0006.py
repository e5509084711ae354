"""latest_commune, latest_from on persons and cases (their latest dated unit), and the index of superseded rows"""

import sqlalchemy as sa
from alembic import op

revision = "reporting_0006"
down_revision = "reporting_0005"
branch_labels = None
depends_on = None

DATED = (("persons", "residences", "person_id"), ("cases", "case_units", "case_id"))


def upgrade() -> None:
    """A generation made from now on has the columns and indexes from facts.py, filled by the fold; the ones a
    deployment has (the live one, and one a rebuild was filling) get them here, filled from their dated rows: each
    key's last one (reporting_0005 chained them, the last with no valid_to). Not CONCURRENTLY, as reporting_0004."""
    conn = op.get_bind()
    row = conn.execute(sa.text("SELECT current, building FROM generation WHERE id = 1")).first()
    for generation in sorted({row.current, row.building} - {None}) if row is not None else []:
        g = f"g{generation}_"
        for main, dated, key in DATED:
            if not conn.scalar(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{g}{main}"}):
                continue
            op.execute(f'ALTER TABLE "{g}{main}" ADD COLUMN IF NOT EXISTS latest_commune text')
            op.execute(f'ALTER TABLE "{g}{main}" ADD COLUMN IF NOT EXISTS latest_from date')
            op.execute(
                f'UPDATE "{g}{main}" m SET latest_commune = d.commune_code, latest_from = d.valid_from'
                f' FROM "{g}{dated}" d WHERE d.{key} = m.{key} AND d.valid_to IS NULL'
                " AND (m.latest_commune, m.latest_from) IS DISTINCT FROM (d.commune_code, d.valid_from)"
            )
            op.execute(f'CREATE INDEX IF NOT EXISTS "{g}{main}_latest" ON "{g}{main}" (latest_commune)')
            op.execute(
                f'CREATE INDEX IF NOT EXISTS "{g}{dated}_superseded" ON "{g}{dated}" (commune_code)'
                " WHERE valid_to IS NOT NULL"
            )
