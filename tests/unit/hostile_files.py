"""Hostile uploads, built here rather than stored: XLSX files whose sheet XML is written straight into the zip.

The sheet XML is streamed into the archive chunk by chunk, so a bomb that expands to 314 MB costs the test a
few hundred kilobytes of memory.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator

from openpyxl import Workbook

PERSON_HEADER = ["Họ và tên", "Ngày sinh", "Giới tính", "Mã xã", "Tình trạng"]
SHEET = "xl/worksheets/sheet1.xml"


def xlsx(rows_xml: Iterable[str], header: list[str] = PERSON_HEADER, level: int = 9) -> bytes:
    """A real workbook (openpyxl's) with `header` as row 1 and `rows_xml` (raw <row> elements) after it."""
    base = io.BytesIO()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    book.save(base)
    out = io.BytesIO()
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename != SHEET:
                dst.writestr(item, data)
                continue
            head, tail = data.decode().split("</sheetData>")
            with dst.open(SHEET, "w") as part:
                part.write(head.encode())
                buffer: list[str] = []
                for row in rows_xml:
                    buffer.append(row)
                    if len(buffer) >= 10_000:
                        part.write("".join(buffer).encode())
                        buffer.clear()
                part.write(("".join(buffer) + "</sheetData>" + tail).encode())
    return out.getvalue()


def empty_cells(rows: int = 20_000, columns: int = 20) -> Iterator[str]:
    """`rows` rows of `columns` cells that hold nothing: what made the registry wait 7 s per upload."""
    letters = [chr(ord("A") + i) for i in range(columns)]
    for r in range(2, rows + 2):
        yield f'<row r="{r}">' + "".join(f'<c r="{c}{r}"/>' for c in letters) + "</row>"


def bomb(expanded: int = 314_000_000) -> Iterator[str]:
    """About `expanded` bytes of sheet XML that deflate a thousand times (307 KB for the default)."""
    chunk = "<row/>" * 10_000
    for _ in range(expanded // len(chunk)):
        yield chunk


def declared_size_lie(content: bytes, member: str = SHEET, declared: int = 1_000) -> bytes:
    """`content` with `member` claiming (in its local header and the central directory) to expand to `declared`."""
    data = bytearray(content)
    name = member.encode()
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[start + size_at : start + size_at + 4] = declared.to_bytes(4, "little")
            start += 4
    return bytes(data)
