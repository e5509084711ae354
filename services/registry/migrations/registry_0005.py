"""persons keep their commune as recorded and also today's unit responsible (unit_now) and the date it was recorded

The rows that exist are filled by the function the projection uses (AdminUnits.unit_now, from the catalogue), so a
migrated database and a rebuilt one hold the same values. The date a commune was recorded is the legal date of
the person's last registration, move or assignment event.
"""

import sqlalchemy as sa
from alembic import op

from shared.vn.units import admin_units

revision = "registry_0005"
down_revision = "registry_0004"
branch_labels = None
depends_on = None

LAST_COMMUNE = sa.text(
    "SELECT p.person_id, p.commune_code, coalesce("
    " (SELECT e.occurred_on FROM events e WHERE e.stream_id = p.person_id::text"
    "  AND e.event_type IN ('residence_changed', 'person_assigned_after_reorganisation')"
    "  ORDER BY e.stream_version DESC LIMIT 1), p.registered_on) AS unit_on"
    " FROM persons p"
)


def upgrade() -> None:
    op.add_column("persons", sa.Column("unit_now", sa.Text))
    op.add_column("persons", sa.Column("unit_on", sa.Date))
    conn = op.get_bind()
    units = admin_units()
    rows = [
        {"id": r.person_id, "now": units.unit_now_or_code(r.commune_code, r.unit_on), "on": r.unit_on}
        for r in conn.execute(LAST_COMMUNE)
    ]
    if rows:
        conn.execute(sa.text("UPDATE persons SET unit_now = :now, unit_on = :on WHERE person_id = :id"), rows)
    op.alter_column("persons", "unit_now", nullable=False)
    op.alter_column("persons", "unit_on", nullable=False)
    op.create_index("persons_by_unit_now", "persons", ["unit_now", "status"])
