"""Bulk import of a police review list: exact report counts, rejected rows with reasons, idempotent re-import."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook

from tests.integration.registry.conftest import AN_BA, AN_CHAU, SON_DONG, TAY_YEN_TU, THO_XUONG, person
from tests.support.polling import wait_until
from tests.support.services import ServiceClient

pytestmark = pytest.mark.integration

HEADER = "STT,Họ và tên,Ngày sinh,Giới tính,Số CCCD,Mã xã,Thôn/Tổ dân phố,Tình trạng"
GOOD = [
    f"1,Hoàng Văn Long,12/03/1988,Nam,024088000101,{TAY_YEN_TU},Thôn Mới,Nghiện",
    f"2,Nông Thị Mai,01/07/1995,Nữ,024195000102,{AN_BA},Thôn Biểu,Sử dụng",
    f"3,La Văn Nam,20/11/1979,Nam,,{AN_CHAU},Tổ dân phố 2,Người nghiện",
    f"4,Trần Văn Ơn,05/05/2001,Nam,,{AN_CHAU},Thôn Thượng,Sử dụng",
    f"5,Lương Văn Phúc,15/02/1992,nam,024092000105,{TAY_YEN_TU},Thôn Mới,nghiện",
    f"6,Chu Văn Quang,30/09/1985,Nam,,{AN_BA},Thôn Chào,Nghiện",  # same name/birth/commune as an existing record
]
BAD = [
    (f"7,Giáp Văn Rồng,01/01/1990,Nam,12345,{TAY_YEN_TU},Thôn Mới,Nghiện", "citizen_id"),
    ("8,Đinh Văn Sơn,01/01/1990,Nam,,99999,Thôn Mới,Nghiện", "commune_code"),
    (f"9,Hà Văn Tâm,01/01/2990,Nam,,{TAY_YEN_TU},Thôn Mới,Nghiện", "date_of_birth"),
    (f"10,,01/01/1990,Nam,,{TAY_YEN_TU},Thôn Mới,Nghiện", "full_name"),
    (f"11,Vũ Văn Uy,31/02/1990,Nam,,{TAY_YEN_TU},Thôn Mới,Nghiện", "date_of_birth"),
    (f"12,Mạc Văn Vinh,01/01/1990,Không rõ,,{TAY_YEN_TU},Thôn Mới,Nghiện", "sex"),
    (f"13,Tạ Văn Xuân,01/01/1990,Nam,,{THO_XUONG},Phố Cũ,Nghiện", "commune_code"),  # another district
]
DUPLICATES = [
    f"14,Hoàng Văn Long,12/03/1988,Nam,024088000101,{TAY_YEN_TU},Thôn Mới,Nghiện",  # same row as row 1
    f"15,Hoàng V. Long,12/03/1988,Nam,024088000101,{AN_BA},Thôn Khác,Nghiện",  # row 1's citizen id again
    f"16,Bế Văn Yên,02/02/1991,Nam,024091000116,{AN_BA},Thôn Biểu,Nghiện",  # citizen id already on record
]


def csv_file() -> bytes:
    lines = [HEADER, *GOOD, *(row for row, _ in BAD), "", *DUPLICATES]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


async def finished(registry: ServiceClient, import_id: str, headers: dict[str, str]) -> dict[str, Any]:
    async def report() -> dict[str, Any]:
        return dict((await registry.http.get(f"/api/v1/persons/imports/{import_id}", headers=headers)).json())

    return await wait_until(report, lambda r: r["status"] in ("done", "failed"), 60, 0.1, f"import {import_id} done")


async def upload(registry: ServiceClient, content: bytes, name: str, headers: dict[str, str]) -> dict[str, Any]:
    files = {"file": (name, content, "text/csv" if name.endswith(".csv") else "application/octet-stream")}
    response = await registry.http.post(
        "/api/v1/persons/imports", files=files, data={"recorded_on": "2024-02-15"}, headers=headers
    )
    assert response.status_code == 202, response.text
    return await finished(registry, response.json()["import_id"], headers)


async def test_a_mixed_list_gives_an_exact_report_and_a_second_import_creates_nothing(registry: ServiceClient) -> None:
    district = registry.auth("district_officer", SON_DONG)
    existing = person(full_name="Bế Văn Yên", date_of_birth="1991-02-02", citizen_id="024091000116", commune_code=AN_BA)
    assert (await registry.http.post("/api/v1/persons", json=existing, headers=district)).status_code == 201
    twin = person(full_name="Chu Văn Quang", date_of_birth="1985-09-30", commune_code=AN_BA, village="Thôn Khác")
    twin_id = (await registry.http.post("/api/v1/persons", json=twin, headers=district)).json()["person_id"]

    report = await upload(registry, csv_file(), "ra-soat-quy-1.csv", district)

    assert report["status"] == "done"
    assert report["total"] == len(GOOD) + len(BAD) + len(DUPLICATES)
    assert report["created"] == len(GOOD)
    assert report["duplicates"] == len(DUPLICATES)
    assert len(report["rejected"]) == len(BAD)
    rejected = {r["row"]: r["errors"] for r in report["rejected"]}
    for index, (_, field) in enumerate(BAD):
        row_number = 2 + len(GOOD) + index
        assert field in rejected[row_number], (row_number, rejected[row_number])
    assert [(f["row"], f["likely_duplicates"]) for f in report["likely_duplicates"]] == [(7, [twin_id])]

    found = await registry.http.get("/api/v1/persons", params={"q": "la van nam"}, headers=district)
    assert found.json()["items"][0]["date_of_birth"] == "1979-11-20"
    assert found.json()["items"][0]["status"] == "addict" and found.json()["items"][0]["registered_on"] == "2024-02-15"

    again = await upload(registry, csv_file(), "ra-soat-quy-1-lan-2.csv", district)
    assert again["created"] == 0
    assert again["duplicates"] == len(GOOD) + len(DUPLICATES)
    assert len(again["rejected"]) == len(BAD)
    total = await registry.http.get("/api/v1/persons", params={"commune_code": AN_CHAU}, headers=district)
    assert total.json()["total"] == 2


async def test_an_xlsx_list_with_english_headers_and_numeric_cells(registry: ServiceClient) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["full_name", "date_of_birth", "sex", "citizen_id", "commune_code", "village", "status"])
    sheet.append(["Ngô Văn Bảy", "1993-06-01", "male", 24093000201, 7616, "Thôn Mới", "addict"])
    sheet.append(["Ngô Thị Tám", "14/08/1997", "female", None, 7660, "Thôn Biểu", "user"])
    buffer = io.BytesIO()
    book.save(buffer)
    district = registry.auth("district_officer", SON_DONG)
    report = await upload(registry, buffer.getvalue(), "list.xlsx", district)
    assert (report["created"], report["duplicates"], report["rejected"]) == (2, 0, [])
    found = (await registry.http.get("/api/v1/persons", params={"q": "024093000201"}, headers=district)).json()
    assert found["items"][0]["commune_code"] == TAY_YEN_TU


async def test_a_file_without_the_required_columns_is_refused_at_once(registry: ServiceClient) -> None:
    response = await registry.http.post(
        "/api/v1/persons/imports",
        files={"file": ("wrong.csv", "Tên,Tuổi\nAn,30\n".encode(), "text/csv")},
        headers=registry.auth("commune_officer", TAY_YEN_TU),  # today's unit: a district records nothing now
    )
    assert response.status_code == 422
    assert "Họ và tên" in response.json()["error"]["message"]


async def test_mac_line_ends_are_read_and_junk_or_nul_bytes_are_refused_not_crashed(registry: ServiceClient) -> None:
    headers = registry.auth("district_officer", SON_DONG)
    # Excel for Mac ends lines with a lone carriage return
    mac = ("\r".join([HEADER, f"1,Mông Văn Dũng,03/03/1993,Nam,,{TAY_YEN_TU},Thôn Mới,Nghiện"]) + "\r").encode()
    report = await upload(registry, mac, "mac.csv", headers)
    assert (report["status"], report["created"]) == ("done", 1)
    for junk in ("Þ\x05\x18\ru".encode(), b"\ro", b"PK\x03\x04not a zip"):
        answer = await registry.http.post(
            "/api/v1/persons/imports",
            files={"file": ("x.csv", junk, "text/csv")},
            data={"recorded_on": "2024-02-15"},  # the district's account records nothing dated after 2025-07-01
            headers=headers,
        )
        assert answer.status_code == 422, answer.text
    nul = (HEADER + "\n" + f"1,Mông Văn\x00Em,03/03/1993,Nam,,{TAY_YEN_TU},Thôn Mới,Nghiện\n").encode()
    report = await upload(registry, nul, "nul.csv", headers)
    assert (report["status"], report["created"]) == ("done", 0)
    assert [r["errors"] for r in report["rejected"]] == [
        {"full_name": "must not contain control characters (không được chứa ký tự điều khiển)"}
    ]
