"""directory and cases keep the unit as recorded and also today's unit responsible (unit_now) and when it was recorded

Filled by the function the projections use (AdminUnits.unit_now, from the catalogue). A case's unit was recorded by
its enrolment or its last transfer: the first of its events to carry the unit code it has now. The directory does
not keep the registry's events, so a person's code is read in the edition that has it; a code both editions have
is read as of the person's first case under it, or as the old edition's when there is none (the registry's own
revision, registry_0005, has the exact dates).
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

from shared.vn.units import REFORM_DATE, admin_units

revision = "cases_0005"
down_revision = "cases_0004"
branch_labels = None
depends_on = None

BEFORE = date(2025, 6, 30)
CASE_UNITS = sa.text(
    "SELECT stream_id, occurred_on, envelope->>'unit_code' AS unit_code FROM events ORDER BY stream_id, stream_version"
)
PERSONS = sa.text(
    "SELECT d.person_id, d.commune_code, (SELECT min(c.started_on) FROM cases c"
    " WHERE c.person_id = d.person_id AND c.commune_code = d.commune_code) AS first_case FROM directory d"
)


def upgrade() -> None:
    for table in ("directory", "cases"):
        op.add_column(table, sa.Column("unit_now", sa.Text))
        op.add_column(table, sa.Column("unit_on", sa.Date))
    conn = op.get_bind()
    units = admin_units()
    since: dict[str, tuple[str, date]] = {}
    for r in conn.execute(CASE_UNITS):
        if r.stream_id not in since or since[r.stream_id][0] != r.unit_code:
            since[r.stream_id] = (r.unit_code, r.occurred_on)
    cases = [
        {"id": case_id, "now": units.unit_now_or_code(code, on), "on": on} for case_id, (code, on) in since.items()
    ]
    if cases:
        conn.execute(sa.text("UPDATE cases SET unit_now = :now, unit_on = :on WHERE case_id::text = :id"), cases)
    persons = []
    for r in conn.execute(PERSONS):
        on = units.edition_date(r.commune_code, r.first_case or BEFORE)
        persons.append({"id": r.person_id, "now": units.unit_now_or_code(r.commune_code, on), "on": on})
    if persons:
        conn.execute(sa.text("UPDATE directory SET unit_now = :now, unit_on = :on WHERE person_id = :id"), persons)
    for table in ("directory", "cases"):
        conn.execute(
            sa.text(f"UPDATE {table} SET unit_now = commune_code, unit_on = :on WHERE unit_on IS NULL"),
            {"on": REFORM_DATE},
        )
        op.alter_column(table, "unit_now", nullable=False)
        op.alter_column(table, "unit_on", nullable=False)
    op.create_index("cases_by_unit_now", "cases", ["unit_now", "state"])
