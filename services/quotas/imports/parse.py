"""Plan tables as officials hold them: the seeds' appendix (by commune name), the codes file, the indicators file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from services.quotas.hierarchy import unit_for_year
from services.quotas.schemas import TargetIn
from shared.kernel.rules import RuleViolation
from shared.runtime.limits import Limits
from shared.runtime.tabular import UnreadableFile, read_rows
from shared.vn.units import AdminUnits, admin_units, fold

APPENDIX = {
    "name": ("xa, thi tran", "xa, phuong, thi tran", "xa", "ten xa", "don vi"),
    "compulsory": ("so nguoi cai nghien bat buoc", "cai nghien bat buoc"),
    "voluntary_community": (
        "so nguoi cai nghien tu nguyen tai gia dinh, cong dong",
        "cai nghien tu nguyen tai gia dinh, cong dong",
        "so nguoi cai nghien tu nguyen",
    ),
}
CODES = {"year", "district_code", "commune_code", "compulsory_rehab", "voluntary_community_rehab"}
INDICATOR_COLUMNS = {"year", "unit_code", "indicator", "comparison", "target"}
_PREFIX = re.compile(r"^(tt|thi tran|tx|thi xa|xa|phuong|p\.)\s+")


@dataclass
class PlanLine:
    """One unit's numbers for one year, from one row of the file (or the appendix's parent total)."""

    row: int
    year: int
    unit_code: str
    quotas: dict[str, int] | None = None
    targets: list[Any] | None = None


@dataclass
class ParsedTable:
    kind: str
    lines: list[PlanLine] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    parents: dict[tuple[int, str], dict[str, int]] = field(default_factory=dict)  # (year, parent) -> totals


def parse_plan_file(content: bytes, year: int | None, parent: str | None, limits: Limits | None = None) -> ParsedTable:
    """`parse_plan_table` in a worker process, which loads the admin units once for itself."""
    return parse_plan_table(content, admin_units(), year, parent, limits)


def parse_plan_table(
    content: bytes, units: AdminUnits, year: int | None, parent: str | None, limits: Limits | None = None
) -> ParsedTable:
    """The plans a table holds, within `limits`."""
    rows = [r for r in read_rows(content, limits) if any(c not in (None, "") for c in r)]
    if not rows:
        raise UnreadableFile("the file is empty")
    header = [fold(str(c or "")).strip(" :*") for c in rows[0]]
    width = len(header)
    body = [(n, [*r, *[None] * (width - len(r))]) for n, r in enumerate(rows[1:], start=2)]  # short rows: empty cells
    if set(header) >= CODES:
        return _codes(header, body, units)
    if set(header) >= INDICATOR_COLUMNS:
        return _indicators(header, body, units)
    columns = {key: next((i for i, h in enumerate(header) if h in names), None) for key, names in APPENDIX.items()}
    if columns["name"] is None or (columns["compulsory"] is None and columns["voluntary_community"] is None):
        raise UnreadableFile(
            "unrecognised table: expected the appendix headings ('STT', 'Xã, thị trấn', 'Số người cai nghiện bắt buộc',"
            " 'Số người cai nghiện tự nguyện tại gia đình, cộng đồng') or the codes file"
            " (year, district_code, commune_code, compulsory_rehab, voluntary_community_rehab)"
        )
    if year is None or not parent:
        raise UnreadableFile("an appendix table needs the plan's year and the issuing unit's code (year, unit_code)")
    return _appendix(columns, body, units, year, parent)


def _appendix(
    columns: dict[str, int | None], body: list[tuple[int, list[Any]]], units: AdminUnits, year: int, parent: str
) -> ParsedTable:
    owner = unit_for_year(units, parent, year)
    by_name = {_bare(u.name): u for u in units.children(parent, owner.edition)}
    table = ParsedTable("appendix")
    declared: dict[str, int] | None = None
    for number, cells in body:
        name = str(_cell(cells, columns["name"]) or "").strip()
        quotas, errors = _quotas(cells, columns)
        if fold(name).startswith("tong") or (not name and fold(str(cells[0] or "")).startswith("tong")):
            declared = quotas
            continue
        unit = by_name.get(_bare(name))
        if unit is None:
            errors["name"] = f"no commune named '{name}' in {owner.name} ({parent}) in {year}"
        if errors:
            table.rejected.append({"row": number, "errors": errors})
            continue
        assert unit is not None
        table.lines.append(PlanLine(number, year, unit.code, quotas))
    sums = {
        m: sum((line.quotas or {}).get(m, 0) for line in table.lines) for m in ("compulsory", "voluntary_community")
    }
    if declared is not None and not table.rejected and declared != sums:
        raise RuleViolation(
            "total_mismatch",
            f"the total row says {declared} but the communes add up to {sums}",
            f"dòng tổng ghi {declared} nhưng cộng các xã được {sums}",
            kind="invalid",
            field="file",
        )
    table.parents[(year, parent)] = sums
    return table


def _codes(header: list[str], body: list[tuple[int, list[Any]]], units: AdminUnits) -> ParsedTable:
    col = {h: i for i, h in enumerate(header)}
    table = ParsedTable("codes")
    for number, cells in body:
        errors: dict[str, str] = {}
        year = _int(cells[col["year"]], "year", errors)
        quotas = {
            "compulsory": _int(cells[col["compulsory_rehab"]], "compulsory_rehab", errors),
            "voluntary_community": _int(cells[col["voluntary_community_rehab"]], "voluntary_community_rehab", errors),
        }
        commune, district = str(cells[col["commune_code"]]).strip().zfill(5), str(cells[col["district_code"]]).strip()
        if not errors:
            try:
                unit = unit_for_year(units, commune, year, "commune_code")
                if unit.parent != district:
                    errors["commune_code"] = f"commune {commune} ({unit.name}) is not in district {district}"
            except RuleViolation as exc:
                errors[exc.field or "commune_code"] = exc.message
        if errors:
            table.rejected.append({"row": number, "errors": errors})
            continue
        table.lines.append(PlanLine(number, year, commune, quotas))
        totals = table.parents.setdefault((year, district), {"compulsory": 0, "voluntary_community": 0})
        for modality, count in quotas.items():
            totals[modality] += count
    return table


def _indicators(header: list[str], body: list[tuple[int, list[Any]]], units: AdminUnits) -> ParsedTable:
    col = {h: i for i, h in enumerate(header)}
    table = ParsedTable("indicators")
    grouped: dict[tuple[int, str], PlanLine] = {}
    for number, cells in body:
        errors: dict[str, str] = {}
        year = _int(cells[col["year"]], "year", errors)
        code = str(cells[col["unit_code"]]).strip()
        try:
            target = TargetIn(
                indicator=str(cells[col["indicator"]]).strip(),
                comparison=str(cells[col["comparison"]]).strip(),
                value=float(cells[col["target"]]),
            )
            if not errors:
                unit_for_year(units, code, year)
        except RuleViolation as exc:
            errors[exc.field or "unit_code"] = exc.message
        except (ValueError, TypeError) as exc:
            errors["target"] = str(exc).splitlines()[-1] if "validation" in str(exc) else str(exc)
        if errors:
            table.rejected.append({"row": number, "errors": errors})
            continue
        line = grouped.setdefault((year, code), PlanLine(number, year, code, None, []))
        assert line.targets is not None
        line.targets.append(target.target())
    table.lines = list(grouped.values())
    return table


def _quotas(cells: list[Any], columns: dict[str, int | None]) -> tuple[dict[str, int], dict[str, str]]:
    errors: dict[str, str] = {}
    quotas = {m: _int(_cell(cells, columns[m]), m, errors) for m in ("compulsory", "voluntary_community")}
    return quotas, errors


def _int(value: Any, name: str, errors: dict[str, str]) -> int:
    text = str(value).strip() if value is not None else ""
    if text == "":
        return 0
    try:
        number = int(float(text))
    except (ValueError, OverflowError):
        errors[name] = f"'{text}' is not a number"
        return 0
    if number < 0:
        errors[name] = f"{number} is negative; quotas are 0 or more"
    return number


def _cell(cells: list[Any], index: int | None) -> Any:
    return cells[index] if index is not None and index < len(cells) else None


def _bare(name: str) -> str:
    """A unit name without its kind, folded: 'TT Tây Yên Tử' and 'Thị trấn Tây Yên Tử' both give 'tay yen tu'."""
    return _PREFIX.sub("", fold(name))
