"""Reading a police review list (CSV or XLSX, Vietnamese or English headers) into rows of field values."""

from __future__ import annotations

import contextlib
import io
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from itertools import islice
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.registry.domain.events import Source
from shared.runtime.limits import Limits
from shared.runtime.tabular import UnreadableFile, read_rows
from shared.vn.units import fold

COLUMNS: dict[str, tuple[str, ...]] = {
    "full_name": ("ho va ten", "ho ten", "full_name", "full name", "name"),
    "date_of_birth": ("ngay sinh", "ngay thang nam sinh", "date_of_birth", "date of birth", "dob"),
    "sex": ("gioi tinh", "sex", "gender"),
    "citizen_id": ("so cccd", "cccd", "so can cuoc", "so can cuoc cong dan", "citizen_id", "citizen id"),
    "commune_code": ("ma xa", "commune_code", "commune code"),
    "village": ("thon/to dan pho", "thon", "to dan pho", "thon, to dan pho", "village"),
    "status": ("tinh trang", "status"),
    "source": ("nguon", "source"),
    "recorded_on": ("ngay ghi nhan", "recorded_on", "recorded on"),
}
REQUIRED = ("full_name", "date_of_birth", "sex", "commune_code", "status")
LABELS_VI = {
    "full_name": "Họ và tên",
    "date_of_birth": "Ngày sinh",
    "sex": "Giới tính",
    "commune_code": "Mã xã",
    "status": "Tình trạng",
}
_SEX = {"nam": "male", "male": "male", "m": "male", "nu": "female", "female": "female", "f": "female"}
_STATUS = {
    "nghien": "addict",
    "nguoi nghien": "addict",
    "nguoi nghien ma tuy": "addict",
    "addict": "addict",
    "su dung": "user",
    "nguoi su dung": "user",
    "su dung trai phep": "user",
    "nguoi su dung trai phep": "user",
    "nguoi su dung trai phep chat ma tuy": "user",
    "user": "user",
}
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


class ImportForm(BaseModel):
    """The form fields sent beside the file."""

    model_config = ConfigDict(extra="ignore")

    recorded_on: date | None = Field(default=None, description="legal date of the list; default today")
    source: Source = "police_review"


@dataclass(frozen=True)
class RawRow:
    number: int  # the row number an official sees in the spreadsheet (the header is row 1)
    values: dict[str, Any]


class PersonList:
    """A list being read: which field each column holds, and the data rows, streamed."""

    def __init__(self, content: bytes, limits: Limits | None = None) -> None:
        self._rows = read_rows(content, limits)
        header = next(self._rows, None)
        if header is None:
            raise UnreadableFile("the file is empty")
        self.columns = _map_header(header)

    def rows(self) -> Iterator[RawRow]:
        for number, cells in enumerate(self._rows, start=2):
            if not any(c not in (None, "") for c in cells):
                continue  # blank lines in spreadsheets are noise, not errors
            values = {field: cells[i] if i < len(cells) else None for field, i in self.columns.items()}
            yield RawRow(number, normalise(values))


def prepare(content: bytes, limits: Limits | None = None) -> tuple[int, bytes]:
    """Read a whole list within the limits (in a worker process): its number of rows, and the rows packed.

    What an import keeps while it runs is this, sealed: the rows as read (JSON lines, compressed), never the file.
    """
    packer = zlib.compressobj(1)
    parts: list[bytes] = []
    count = 0
    for row in PersonList(content, limits).rows():
        line = json.dumps([row.number, row.values], ensure_ascii=False, default=date.isoformat)
        parts.append(packer.compress(line.encode() + b"\n"))
        count += 1
    parts.append(packer.flush())
    return count, b"".join(parts)


def unpack(packed: bytes) -> Iterator[RawRow]:
    """The rows `prepare` packed (dates come back as ISO strings, which validation reads as dates).

    The lines are decoded a thousand at a time, as one JSON array: a third of the cost of a `loads` per line.
    """
    lines = io.BytesIO(zlib.decompress(packed))
    while batch := list(islice(lines, 1000)):
        for number, values in json.loads(b"[" + b",".join(batch) + b"]"):
            yield RawRow(number, values)


def _map_header(header: list[Any]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = fold(str(cell or "")).strip(" :*")
        for field, aliases in COLUMNS.items():
            if name in aliases and field not in columns:
                columns[field] = index
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        wanted = ", ".join(f"'{LABELS_VI[f]}' ({f})" for f in missing)
        raise UnreadableFile(f"missing columns: {wanted}; the first row must hold the column headings")
    return columns


def normalise(values: dict[str, Any]) -> dict[str, Any]:
    """Spreadsheet cells to API values: Nam/Nữ, Nghiện/Sử dụng, dd/mm/yyyy dates, codes that lost leading zeros."""
    out: dict[str, Any] = {}
    for field, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        if value in (None, ""):
            continue
        if field == "sex":
            value = _SEX.get(_folded(str(value)), value)
        elif field == "status":
            value = _STATUS.get(_folded(str(value)), value)
        elif field in ("date_of_birth", "recorded_on"):
            value = _date(value)
        elif field == "citizen_id" and isinstance(value, int | float):
            value = str(int(value)).zfill(12)  # numeric cells drop the leading zero of 0xx province codes
        elif field == "commune_code" and isinstance(value, int | float):
            value = str(int(value)).zfill(5)
        out[field] = value if isinstance(value, str | date) else str(value)
    return out


@lru_cache(maxsize=1024)
def _folded(text: str) -> str:
    return fold(text)  # a list repeats the same few spellings of Nam/Nữ and Nghiện/Sử dụng


def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DMY.match(str(value))
    if match:  # the usual dd/mm/yyyy, without the cost of strptime
        with contextlib.suppress(ValueError):
            return date(int(match[3]), int(match[2]), int(match[1]))
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(str(value), fmt).date()
        except ValueError:
            continue
    return str(value)  # left for validation to refuse with a message
