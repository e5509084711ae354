"""The limits on what a client may send: tables refused at the first row past a cap, archives before they expand,
bodies before they are parsed, and refusals that never quote a cell.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from services.registry.imports.parse import RawRow, prepare, unpack
from services.registry.imports.rows import redacted
from shared.kernel.rules import RuleViolation
from shared.runtime.errors import install_error_handlers
from shared.runtime.limits import BodyLimit, LimitExceeded, Limits
from shared.runtime.offload import in_process
from shared.runtime.tabular import UnreadableFile, read_rows
from shared.runtime.uploads import check_filename
from tests.unit.hostile_files import SHEET, bomb, declared_size_lie, empty_cells, xlsx

SMALL = Limits(rows=5, columns=4, cell_chars=10, upload_bytes=200_000, uncompressed_bytes=2_000_000, json_bytes=100)


def rows_of(content: bytes, limits: Limits = SMALL) -> list[list[Any]]:
    return list(read_rows(content, limits))


def limit_of(content: bytes, limits: Limits = SMALL) -> str:
    with pytest.raises(LimitExceeded) as refused:
        rows_of(content, limits)
    return str(refused.value.extra["limit"]["name"])


def test_a_table_within_the_limits_is_read_and_each_cap_refuses_the_first_row_past_it() -> None:
    assert rows_of(b"a,b\n1,2\n") == [["a", "b"], ["1", "2"]]
    assert limit_of(b"a\n" + b"1\n" * 6) == "rows"  # 5 rows and the header pass, a 6th does not
    assert rows_of(b"a\n" + b"1\n" * 5)[-1] == ["1"]
    assert limit_of(b"a,b,c,d,e\n") == "columns"
    assert rows_of(b"a,b,c,d,,,,\n") == [["a", "b", "c", "d"]]  # trailing empty cells are not columns
    assert limit_of(("a\n" + "é" * 11 + "\n").encode()) == "cell_chars"
    assert limit_of(b"x" * 200_001) == "upload_bytes"


def test_an_xlsx_is_measured_before_it_is_opened() -> None:
    assert limit_of(xlsx(bomb(3_000_000)), Limits()) == "compression_ratio"  # 3 MB of XML from 4 KB
    assert limit_of(xlsx(bomb(3_000_000)), SMALL) == "uncompressed_bytes"
    assert limit_of(xlsx(empty_cells(10, 3)), Limits(xlsx_parts=5)) == "xlsx_parts"
    assert len(rows_of(xlsx(empty_cells(3, 3)), Limits())) == 4


def test_a_sheet_whose_cells_reach_column_16384_or_row_1048576_is_refused_not_padded() -> None:
    far = xlsx(['<row r="2"><c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row>'])
    assert limit_of(far, Limits()) == "columns"
    deep = xlsx(['<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'])
    assert limit_of(deep, Limits()) == "rows"


def test_an_archive_that_lies_about_its_size_fails_its_crc_instead_of_expanding() -> None:
    lying = declared_size_lie(xlsx(empty_cells(2_000, 20)), declared=1_000)
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo(SHEET).file_size == 1_000
    with pytest.raises(UnreadableFile, match="CRC"):
        rows_of(lying, Limits())


def test_entity_expansion_in_the_sheet_xml_is_refused() -> None:
    entities = '<!ENTITY l0 "lollollol">' + "".join(f'<!ENTITY l{i + 1} "{f"&l{i};" * 10}">' for i in range(9))
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]><worksheet xmlns="http://schemas.openxmlformats.org'
        '/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&l9;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    with pytest.raises(UnreadableFile, match="amplification"):
        rows_of(_with_part(xlsx([]), SHEET, sheet.encode()), Limits())


def test_an_unreadable_cell_is_reported_without_its_text() -> None:
    sheet = xlsx(['<row r="2"><c r="A2" t="n"><v>Nguyễn Văn Bí Mật</v></c></row>'])
    with pytest.raises(UnreadableFile) as refused:
        rows_of(sheet, Limits())
    assert "Bí Mật" not in str(refused.value) and "cannot be read" in str(refused.value)


def test_row_errors_never_keep_an_identifying_value() -> None:
    raw = RawRow(7, {"full_name": "Lò Văn Kín", "citizen_id": "024090000777", "sex": "Nam"})
    errors = {"full_name": "'Lò Văn Kín' is not allowed", "citizen_id": "024090000777 is taken", "sex": "Nam?"}
    assert redacted(errors, raw) == {"full_name": "'…' is not allowed", "citizen_id": "… is taken", "sex": "Nam?"}


def test_a_list_is_kept_as_its_rows_and_read_back_the_same() -> None:
    content = "Họ và tên,Ngày sinh,Giới tính,Mã xã,Tình trạng\nLò Văn An,02/03/1990,Nam,7616,Nghiện\n,,,,\n"
    total, packed = prepare(content.encode(), Limits())
    assert total == 1 and "Lò".encode() not in packed  # compressed, and sealed by the vault on top
    [row] = list(unpack(packed))
    assert row.number == 2 and row.values["date_of_birth"] == "1990-03-02" and row.values["sex"] == "male"


def test_file_names_with_control_or_bidi_characters_are_refused() -> None:
    assert check_filename("Danh sách quý 1.xlsx") == "Danh sách quý 1.xlsx"
    for name in ("a\x00.csv", "a\x1b[2J.csv", "gpj.\u202excsv", "a" * 256):
        with pytest.raises(Exception, match="file name"):
            check_filename(name)


async def test_an_exception_raised_in_a_worker_process_is_raised_again_whole() -> None:
    with pytest.raises(RuleViolation) as refused:
        await in_process(_refuse)
    assert (refused.value.code, refused.value.message_vi, refused.value.field) == ("total_mismatch", "vi", "file")
    with pytest.raises(LimitExceeded) as limited:
        await in_process(
            prepare, "Họ và tên,Ngày sinh,Giới tính,Mã xã,Tình trạng\n".encode() + b"a\n" * 9, Limits(rows=5)
        )
    assert limited.value.extra["limit"]["name"] == "rows" and limited.value.status == 422


def _refuse() -> None:
    raise RuleViolation("total_mismatch", "en", "vi", kind="invalid", field="file")


def _with_part(content: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, data if item.filename == name else src.read(item))
    return out.getvalue()


def body_app(limits: Limits = SMALL) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limits=limits)

    @app.post("/json")
    async def take_json(body: dict[str, int]) -> dict[str, int]:
        return {"keys": len(body)}

    @app.post("/stream")
    async def take_stream(request: Request) -> dict[str, int]:
        return {"bytes": sum([len(chunk) async for chunk in request.stream()])}

    return app


async def test_json_bodies_over_the_limit_are_refused_413_whether_declared_or_streamed() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=body_app()), base_url="http://t") as client:
        assert (await client.post("/json", json={"a": 1})).json() == {"keys": 1}
        declared = await client.post("/json", content=json.dumps({f"k{i}": 0 for i in range(50)}))
        assert declared.status_code == 413 and declared.json()["error"]["limit"]["name"] == "json_bytes"

        async def chunks() -> Any:
            for _ in range(20):
                yield b'{"k": 0,' * 2

        streamed = await client.post("/json", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413 and "(nội dung yêu cầu lớn hơn" in streamed.json()["error"]["message"]
        multipart = {"content-type": "multipart/form-data; boundary=x"}
        within = await client.post("/stream", content=b"x" * 1_000, headers=multipart)
        assert within.json() == {"bytes": 1_000}

        async def upload() -> Any:
            for _ in range(30):
                yield b"x" * 10_000

        over = await client.post("/stream", content=upload(), headers=multipart)
        assert over.status_code == 422 and over.json()["error"]["limit"]["name"] == "upload_bytes"
        assert "connection" not in over.headers  # read to its end (unparsed): the connection can serve again


async def test_a_body_past_the_drain_limit_is_cut_off_and_its_connection_closed() -> None:
    pulled = 0

    async def endless() -> Any:
        nonlocal pulled
        for _ in range(1_000):
            pulled += 1
            yield b"x" * 10_000

    app = body_app(SMALL.model_copy(update={"drain_bytes": 500_000}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        over = await client.post("/json", content=endless(), headers={"content-type": "application/json"})
    assert over.status_code == 413 and over.headers["connection"] == "close"
    assert pulled < 100  # 500 kB, not the 10 MB sent


async def test_a_json_body_with_more_members_than_the_limit_is_refused_unparsed() -> None:
    app = body_app(Limits(json_items=10))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.post("/json", json={f"k{i}": i for i in range(5)})).json() == {"keys": 5}
        refused = await client.post("/json", json={f"k{i}": i for i in range(6)})  # 6 ":" and 5 ","
        assert refused.status_code == 422 and refused.json()["error"]["limit"] == {"name": "json_items", "value": 10}
        assert (await client.post("/stream", content=b",:" * 100, headers={"content-type": "text/plain"})).json()
