"""Units in time: a record's unit is read for its date and maps forward through the 2025-07-01 reorganisation."""

from __future__ import annotations

from datetime import date

import pytest

from shared.runtime.auth import Principal, Role, UnitAbolished, refuse_if_abolished, sees
from shared.vn.units import admin_units

UNITS = admin_units()
BEFORE, AFTER = date(2025, 3, 1), date(2025, 10, 15)


def test_a_code_means_another_unit_before_and_after_the_reform() -> None:
    assert UNITS.get("07615", BEFORE).name == "Thị trấn An Châu"
    assert UNITS.get("07615", AFTER).name == "Xã Sơn Động"
    assert (UNITS.get("24", BEFORE).name, UNITS.get("24", AFTER).name) == ("Tỉnh Bắc Giang", "Tỉnh Bắc Ninh")


def test_full_merges_map_forward_and_splits_wait_in_their_province() -> None:
    assert UNITS.unit_now("07660", BEFORE) == "07615"  # Xã An Bá merged whole into Xã Sơn Động
    assert UNITS.unit_now("07660", AFTER) == "07660"  # a code recorded after the reform is today's
    assert UNITS.unit_now("220", BEFORE) == "24" and UNITS.unit_now("27", BEFORE) == "24"
    split = "00007"  # Phường Cống Vị went to Ngọc Hà and Giảng Võ: never guessed
    assert UNITS.split(split) and UNITS.unit_now(split, BEFORE) == "01"


def account(role: Role, unit: str) -> Principal:
    return Principal(sub="t", role=role, unit=unit)


def test_todays_accounts_see_records_by_the_unit_now_responsible() -> None:
    son_dong = account(Role.COMMUNE_OFFICER, "07615")
    assert sees(son_dong, UNITS, "07660", BEFORE)  # registered in An Bá before the merge
    assert sees(account(Role.PROVINCE_OFFICER, "24"), UNITS, "27", BEFORE)  # old Bắc Ninh is in new Bắc Ninh
    assert not sees(son_dong, UNITS, "00007", BEFORE)
    assert sees(account(Role.PROVINCE_OFFICER, "01"), UNITS, "00007", BEFORE)  # the province's work list
    assert sees(account(Role.COMMUNE_POLICE, "00025"), UNITS, "00007", BEFORE)  # a candidate successor
    assert not sees(account(Role.COMMUNE_POLICE, "00097"), UNITS, "00007", BEFORE)


def test_an_abolished_unit_reads_its_history_and_records_nothing_after_its_abolition() -> None:
    district = account(Role.DISTRICT_OFFICER, "220")
    assert sees(district, UNITS, "07660", BEFORE) and not sees(district, UNITS, "07615", AFTER)
    refuse_if_abolished(district, UNITS, date(2025, 6, 30))
    with pytest.raises(UnitAbolished) as refused:
        refuse_if_abolished(district, UNITS, AFTER)
    assert "07615" in refused.value.extra["successors"] and "Xã Sơn Động" in refused.value.message
    refuse_if_abolished(account(Role.COMMUNE_OFFICER, "07615"), UNITS, AFTER)


def test_every_old_unit_has_a_unit_now() -> None:
    """Communes the mapping data leaves out (563) and island districts without communes go to their province's."""
    assert all(UNITS.unit_now(code, BEFORE) for code in UNITS.subtree_then("VN") or UNITS._units["2024"])
    assert UNITS.unit_now("09175", BEFORE) == "24" and UNITS.unit_now("318", BEFORE) == UNITS.province_now("31")
