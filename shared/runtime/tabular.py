"""Reading the tables officials send (CSV in UTF-8 or UTF-16, or XLSX) into rows of cells, within the limits.

Rows are streamed, never held all at once, and every cap is checked before the work it bounds: an XLSX's declared
part sizes and compression ratios before openpyxl opens it (zipfile stops a part at its declared size, so a lying
archive fails its CRC instead of expanding), then rows, columns and cell lengths as the rows come. Parsing is CPU
work: callers run it with `shared.runtime.offload.in_process`, off the event loop.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from openpyxl import load_workbook

from shared.runtime.limits import LimitExceeded, Limits, MiB, current_limits, upload_too_large, vi_number

_RATIO_FLOOR = 1 * MiB  # a small part may compress well (a theme, a style sheet); only large ones can be bombs


class UnreadableFile(ValueError):
    """The file is not a table this system can read; the message says what to fix (and never quotes a cell)."""


def read_rows(content: bytes, limits: Limits | None = None) -> Iterator[list[Any]]:
    """Rows of cells of the first sheet (XLSX) or of the CSV (delimiter , ; or tab, sniffed), within `limits`."""
    limits = limits or current_limits()
    if len(content) > limits.upload_bytes:
        raise upload_too_large(limits)
    if content[:4] == b"PK\x03\x04":
        check_archive(content, limits)
        return _bounded(_xlsx(content), limits)
    return _bounded(_csv(content, limits), limits)


def check_archive(content: bytes, limits: Limits) -> None:
    """Refuse an XLSX whose parts, as its directory declares them, expand beyond the limits."""
    try:
        parts = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise UnreadableFile(f"the XLSX file cannot be opened: {exc}") from None
    if len(parts) > limits.xlsx_parts:
        raise _limit(limits, "xlsx_parts", "the XLSX file holds too many parts", "tệp XLSX chứa quá nhiều thành phần")
    if sum(p.file_size for p in parts) > limits.uncompressed_bytes:
        mib = limits.uncompressed_bytes / MiB
        raise _limit(
            limits,
            "uncompressed_bytes",
            f"the XLSX file expands to more than {mib:g} MiB; split the list",
            f"tệp XLSX khi giải nén lớn hơn {mib:g} MiB; hãy chia nhỏ danh sách",
        )
    for part in parts:
        if part.file_size > _RATIO_FLOOR and part.file_size > limits.compression_ratio * max(part.compress_size, 1):
            raise _limit(
                limits,
                "compression_ratio",
                f"the XLSX file is compressed more than {limits.compression_ratio} times, as no list is",
                f"tệp XLSX bị nén hơn {limits.compression_ratio} lần, không phải một danh sách thông thường",
            )


def _bounded(rows: Iterator[list[Any]], limits: Limits) -> Iterator[list[Any]]:
    """The rows, refused at the first one beyond the row, column or cell-length limit (blank rows count too)."""
    for number, row in enumerate(rows, start=1):
        if number > limits.rows + 1:  # + the header
            raise _limit(
                limits,
                "rows",
                f"the file has more than {limits.rows:,} rows; split the list",
                f"tệp có hơn {vi_number(limits.rows)} dòng; hãy chia nhỏ danh sách",
            )
        if len(row) > limits.columns:
            tail = row[limits.columns :]
            if tail.count(None) + tail.count("") != len(tail):  # list.count: a 16,384-cell row costs no Python loop
                raise _limit(
                    limits,
                    "columns",
                    f"row {number} has more than {limits.columns} columns",
                    f"dòng {number} có hơn {limits.columns} cột",
                )
            row = row[: limits.columns]
        for column, cell in enumerate(row, start=1):
            if isinstance(cell, str) and len(cell) > limits.cell_chars:
                raise _limit(
                    limits,
                    "cell_chars",
                    f"row {number}, column {column} holds more than {limits.cell_chars:,} characters",
                    f"dòng {number}, cột {column} có hơn {vi_number(limits.cell_chars)} ký tự",
                )
        yield row


def _limit(limits: Limits, name: str, message: str, message_vi: str) -> LimitExceeded:
    return LimitExceeded(name, getattr(limits, name), message, message_vi)


def _csv(content: bytes, limits: Limits) -> Iterator[list[Any]]:
    encoding = "utf-16" if content[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    text = io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline="")  # decoded as it is read
    try:
        dialect: Any = csv.Sniffer().sniff(text.read(4096), delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    except UnicodeDecodeError:
        raise _not_utf8() from None
    text.seek(0)
    # newline="": the reader itself takes \n, \r\n and a lone \r (Excel for Mac) as line ends, and keeps
    # line breaks inside quoted cells
    reader = csv.reader(text, dialect)
    try:
        yield from reader
    except UnicodeDecodeError:
        raise _not_utf8() from None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _limit(
                limits,
                "cell_chars",
                f"line {reader.line_num} holds a cell longer than {limits.cell_chars:,} characters",
                f"dòng {reader.line_num} có ô dài hơn {vi_number(limits.cell_chars)} ký tự",
            ) from None
        raise UnreadableFile(f"the CSV file cannot be read at line {reader.line_num}: {exc}") from None


def _not_utf8() -> UnreadableFile:
    return UnreadableFile("the CSV file is not UTF-8 text: save it as 'CSV UTF-8' (or upload the .xlsx)")


def _xlsx(content: bytes) -> Iterator[list[Any]]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise UnreadableFile(f"the XLSX file cannot be opened: {_reason(exc)}") from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # rows as written, not padded to a <dimension> the file may inflate
        rows = sheet.iter_rows(values_only=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as exc:
                raise UnreadableFile(f"the XLSX file cannot be read: {_reason(exc)}") from None
            yield list(row)
    finally:
        book.close()


def _reason(exc: Exception) -> str:
    """What went wrong, without the text of a cell: the messages of the archive and XML layers quote no data."""
    if isinstance(exc, SyntaxError | zipfile.BadZipFile | zlib.error | KeyError | OSError | EOFError):
        return str(exc)[:200]
    return f"{type(exc).__name__} in the workbook's data"
