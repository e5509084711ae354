"""Reading the tables officials send (CSV in UTF-8 or UTF-16, or XLSX) into rows of cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from openpyxl import load_workbook


class UnreadableFile(ValueError):
    """The file is not a table this system can read; the message says what to fix."""


def read_rows(content: bytes) -> Iterator[list[Any]]:
    """Rows of cells of the first sheet (XLSX) or of the CSV (delimiter , ; or tab, sniffed)."""
    return _xlsx(content) if content[:4] == b"PK\x03\x04" else _csv(content)


def _csv(content: bytes) -> Iterator[list[Any]]:
    encoding = "utf-16" if content[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError:
        raise UnreadableFile("the CSV file is not UTF-8 text: save it as 'CSV UTF-8' (or upload the .xlsx)") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # newline="": the reader itself takes \n, \r\n and a lone \r (Excel for Mac) as line ends, and keeps
    # line breaks inside quoted cells
    return _checked(csv.reader(io.StringIO(text, newline=""), dialect))


def _checked(reader: Any) -> Iterator[list[Any]]:
    try:
        yield from reader
    except csv.Error as exc:
        raise UnreadableFile(f"the CSV file cannot be read at line {reader.line_num}: {exc}") from None


def _xlsx(content: bytes) -> Iterator[list[Any]]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise UnreadableFile(f"the XLSX file cannot be opened: {exc}") from None
    return (list(row) for row in book.worksheets[0].iter_rows(values_only=True))
