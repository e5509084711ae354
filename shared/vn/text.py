"""Free text and document references in request bodies, one check for every service; text leaving for a spreadsheet.

Whatever a body carries ends up in a database, a log line, a report cell and, for references, on Kafka, so
every service checks text the same way:

- NFKC first, so what is checked is what a reader sees: full-width letters and digits become their plain
  forms ('０２４…' is the digits '024…').
- Control characters (Cc other than whitespace) and format characters (Cf: the bidi override U+202E, the
  zero-width space U+200B, a soft hyphen) are refused, never silently dropped: they make text display
  otherwise than it reads, and a NUL reaches no database.
- A run of 12 digits, even spaced or dotted, looks like a citizen id and is refused: free text is no place for
  one, and the person's record is where the id belongs.
- References (decision, certificate, form and document numbers) have the shape of Vietnamese document numbers
  (`12/QĐ-UBND`, `45/2024/QĐ-TA`, `KH/UBND huyện Sơn Động 01/2024`): letters, ASCII digits, `/ . - _ ( )`,
  single spaces, starting with a letter or digit (so never `=`, `+`, `-`, `@`: nothing a spreadsheet runs).
  A reference of several words must carry its number: that keeps a person's name ("Nguyễn Văn Bình") out
  of a field that is published on Kafka, while the short codes officials type ("KH", "QĐ") stay valid.

Text going out to a spreadsheet passes `spreadsheet_cell`, so no cell of an export can become a formula.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

CONTROL = "must not contain control characters (không được chứa ký tự điều khiển)"
FORMAT = (
    "must not contain invisible formatting characters such as U+202E or U+200B "
    "(không được chứa ký tự định dạng ẩn như U+202E, U+200B)"
)
CITIZEN_ID_LIKE = (
    "looks like a citizen id; do not type citizen ids here: they belong only in the person's record "
    "(giống số CCCD; không nhập số CCCD vào đây, số CCCD chỉ ghi trong hồ sơ của người đó)"
)
_SPREADSHEET_ACTIVE = ("=", "+", "-", "@", "\t", "\r")
_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d){11}")  # 12 digits of any script, maybe grouped "024 090 000 001"
_REF_CHAR = r"(?:[^\W\d_]|[0-9]|[/._()\-])"
_REFERENCE = re.compile(rf"(?:[^\W\d_]|[0-9]){_REF_CHAR}*(?: {_REF_CHAR}+)*")


def normalise(value: str) -> str:
    """NFKC, whitespace runs as one space; a control or format character is refused (ValueError)."""
    value = unicodedata.normalize("NFKC", value)
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cc" and not ch.isspace():
            raise ValueError(CONTROL)
        if category == "Cf":
            raise ValueError(FORMAT)
    return " ".join(value.split())


def refuse_citizen_id_like(value: str) -> str:
    """`value` unchanged, unless it holds a run of 12 digits (ValueError)."""
    if _DIGIT_RUN.search(value):
        raise ValueError(CITIZEN_ID_LIKE)
    return value


def free_text(value: str) -> str:
    """Text a person typed (a facility, a reason, a mentor): normalised, no hidden characters, no citizen id."""
    return refuse_citizen_id_like(normalise(value))


def reference(value: str) -> str:
    """A document number (`12/QĐ-UBND`): normalised and of that shape, or ValueError saying what is wrong."""
    value = free_text(value)
    if not _REFERENCE.fullmatch(value):
        raise ValueError(
            "must be a document number such as 12/QĐ-UBND or 45/2024/QĐ-TA: letters, digits 0-9 and / . - _ ( ), "
            "starting with a letter or digit (phải là số văn bản, ví dụ 12/QĐ-UBND hoặc 45/2024/QĐ-TA)"
        )
    if " " in value and not any("0" <= ch <= "9" for ch in value):
        raise ValueError(
            "a document number of several words must include its number, e.g. KH 01/2024 "
            "(số văn bản gồm nhiều từ phải có số hiệu, ví dụ KH 01/2024)"
        )
    return value


def spreadsheet_cell(value: object) -> object:
    """A value as a CSV cell a spreadsheet shows and never runs: text beginning = + - @ tab or CR gets a quote.

    OWASP's escape for CSV injection: the leading ' makes Excel and LibreOffice read the cell as text. Numbers
    pass unchanged, so -3 stays a number; only text can carry a formula.
    """
    if isinstance(value, str) and value.startswith(_SPREADSHEET_ACTIVE):
        return "'" + value
    return value


FreeText = Annotated[str, AfterValidator(free_text)]
Reference = Annotated[str, AfterValidator(reference)]
