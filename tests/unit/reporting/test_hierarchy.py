"""Which hierarchy a report rolls up on, and which recorded codes a unit of it covers (services/reporting/hierarchy)."""

from __future__ import annotations

from datetime import date

from services.reporting.hierarchy import Hierarchy, forward, hierarchy_of
from shared.vn.units import admin_units


def test_the_period_picks_the_hierarchy() -> None:
    assert hierarchy_of(date(2024, 1, 1), date(2024, 12, 31)) == Hierarchy("2024")
    assert hierarchy_of(date(2025, 1, 1), date(2025, 6, 30)) == Hierarchy("2024")
    assert hierarchy_of(date(2025, 1, 1), date(2025, 12, 31)) == Hierarchy("2025", straddles=True)
    assert hierarchy_of(date(2026, 1, 1), date(2026, 12, 31)) == Hierarchy("2025")
    assert Hierarchy("2024").header()["mapped_forward"] is False
    header = Hierarchy("2025", straddles=True).header()
    assert header["hierarchy"] == "2025-07-01" and header["mapped_forward"]
    assert "01/07/2025" in header["hierarchy_note_vi"]


def test_a_commune_of_today_covers_the_communes_merged_into_it() -> None:
    units = admin_units()
    scope = forward(units).scope("07615", Hierarchy("2025"))
    assert scope.holds("07660", date(2025, 3, 1))  # Xã An Bá, recorded before the reform
    assert scope.holds("07660", date(2026, 2, 1))  # an abolished code recorded later can mean nothing else
    assert scope.holds("07615", date(2026, 2, 1))
    assert not scope.holds("07616", date(2024, 1, 1))
    then = forward(units).scope("07615", Hierarchy("2024"))  # Thị trấn An Châu alone
    assert then.holds("07615", date(2024, 1, 1)) and not then.holds("07660", date(2024, 1, 1))


def test_the_new_province_covers_old_bac_giang_and_old_bac_ninh() -> None:
    units = admin_units()
    scope = forward(units).scope("24", Hierarchy("2025"))
    assert scope.holds("07660", date(2024, 6, 1)) and scope.holds("09163", date(2024, 6, 1))
    assert forward(units).now("09163", date(2024, 6, 1)) == "09169"
    assert forward(units).scope("220", Hierarchy("2024")).before == units.subtree_then("220")
