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


def test_a_code_missing_from_the_edition_of_its_date_is_read_in_the_other() -> None:
    assert UNITS.unit_now_or_code("07660", AFTER) == "07615"  # a case opened after the reform under An Bá
    assert UNITS.code_on("07660", BEFORE, AFTER) == "07615" and UNITS.code_on("07660", BEFORE, BEFORE) == "07660"
    assert UNITS.code_on("07615", AFTER, AFTER) == "07615"
    assert UNITS.unit_now_or_code("99999", BEFORE) == "99999"  # never fails a read model


def test_only_the_commune_police_of_a_candidate_see_a_split_communes_people() -> None:
    assert UNITS.split_predecessors("00025") >= {"00007"} and "00007" not in UNITS.split_predecessors("00097")
    assert not sees(account(Role.COMMUNE_OFFICER, "00025"), UNITS, "00007", BEFORE)


def test_lists_filter_on_todays_unit_or_on_an_abolished_units_history() -> None:
    from sqlalchemy import Column, Date, MetaData, Table, Text

    from shared.runtime.area import area_conditions
    from shared.runtime.errors import Forbidden

    rows = Table("rows", MetaData(), Column("code", Text), Column("now", Text), Column("on", Date))
    cols = {"code": rows.c.code, "now": rows.c.now, "on": rows.c.on}

    def sql(who: Principal, unit: str | None = None) -> str:
        conditions = area_conditions(who, UNITS, unit, **cols)
        return " AND ".join(str(c.compile(compile_kwargs={"literal_binds": True})) for c in conditions)

    assert sql(account(Role.COMMUNE_OFFICER, "07615")) == "rows.now IN ('07615')"
    police = sql(account(Role.COMMUNE_POLICE, "00025"))
    assert "rows.now IN ('00025')" in police and "'00007'" in police and "rows.\"on\" < '2025-07-01'" in police
    district = sql(account(Role.DISTRICT_OFFICER, "220"))
    assert "rows.\"on\" < '2025-07-01'" in district and "'07660'" in district
    assert sql(account(Role.ADMIN, "VN")) == "true"
    with pytest.raises(Forbidden):
        sql(account(Role.COMMUNE_OFFICER, "07615"), "07660")  # no unit of today's hierarchy
    with pytest.raises(Forbidden):
        sql(account(Role.DISTRICT_OFFICER, "220"), "07201")  # the district's old communes only
