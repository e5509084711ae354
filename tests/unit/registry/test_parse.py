"""Reading police review lists: headers in Vietnamese or English, cell values as officials type them."""

from __future__ import annotations

from datetime import date

import pytest

from services.registry.imports.parse import PersonList, normalise
from shared.runtime.tabular import UnreadableFile


def test_vietnamese_headers_and_values() -> None:
    content = (
        "STT;Họ và tên;Ngày sinh;Giới tính;Số CCCD;Mã xã;Thôn/Tổ dân phố;Tình trạng\n"
        "1;Nông Thị Mai;01/07/1995;Nữ;024195000102;07660;Thôn Biểu;Người sử dụng trái phép\n"
    ).encode("utf-8-sig")
    [row] = list(PersonList(content).rows())
    assert row.number == 2
    assert row.values == {
        "full_name": "Nông Thị Mai",
        "date_of_birth": date(1995, 7, 1),
        "sex": "female",
        "citizen_id": "024195000102",
        "commune_code": "07660",
        "village": "Thôn Biểu",
        "status": "user",
    }


def test_headings_without_diacritics_or_in_english_are_recognised() -> None:
    content = b"ho va ten,ngay sinh,gioi tinh,ma xa,tinh trang\nAn,1990-01-02,male,07616,addict\n"
    [row] = list(PersonList(content).rows())
    assert row.values["status"] == "addict" and row.values["date_of_birth"] == date(1990, 1, 2)


def test_missing_columns_are_named_in_vietnamese() -> None:
    with pytest.raises(UnreadableFile, match="Giới tính"):
        PersonList("Họ và tên,Ngày sinh,Mã xã,Tình trạng\n".encode())


def test_numeric_cells_get_their_leading_zeros_back_and_bad_dates_stay_for_validation() -> None:
    values = normalise({"citizen_id": 24090000001, "commune_code": 7616, "date_of_birth": "31/02/1990"})
    assert values == {"citizen_id": "024090000001", "commune_code": "07616", "date_of_birth": "31/02/1990"}


def test_a_file_that_is_not_utf8_is_refused_with_advice() -> None:
    with pytest.raises(UnreadableFile, match="UTF-8"):
        PersonList(b"H\xf4 v\xe0 t\xean,Ng\xe0y sinh\n")  # Windows-1258 bytes
