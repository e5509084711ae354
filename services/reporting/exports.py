"""The periodic report as CSV and XLSX, with Vietnamese headings an official reads without explanation.

No cell can become a formula: CSV text passes `spreadsheet_cell` (a leading ' before = + - @), and XLSX text is
written as a string cell, which openpyxl would otherwise store as a formula when it begins with '='.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font

from services.reporting.signature import Signature
from shared.vn.labels import INDICATOR_VI, MODALITY_VI, PERSON_STATUS_VI, SEX_VI, STATUS_VI
from shared.vn.text import spreadsheet_cell


def _target(target: dict[str, Any] | None) -> str:
    return "" if not target else f"{target['comparison']} {target['value']:g}"


def _value(value: Any) -> Any:
    return "" if value is None else value


def indicator_rows(report: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            INDICATOR_VI.get(i["indicator"], i["indicator"]),
            _value(i["value"]),
            _target(i["target"]),
            STATUS_VI[i["status"]],
            i["indicator"],
        ]
        for i in report["indicators"]
    ]


def quota_rows(report: dict[str, Any]) -> list[list[Any]]:
    progress = report["quota_progress"]
    rows = []
    for unit in [*progress["units"], progress["total"]]:
        for m in progress["modalities"]:
            rows.append(
                [
                    unit["unit_name"],
                    unit["unit_code"],
                    MODALITY_VI.get(m, m),
                    _value(unit["quota"][m]),
                    unit["achieved"][m],
                    _value(unit["ratio"][m]),
                ]
            )
    return rows


def breakdown_rows(report: dict[str, Any]) -> list[list[Any]]:
    labels = {
        "enrolments_by_modality_and_sex": "Số người vào cai nghiện theo hình thức và giới tính",
        "enrolments_by_age_band": "Số người vào cai nghiện theo độ tuổi",
        "on_record_by_sex": "Số người có hồ sơ quản lý theo giới tính",
        "on_record_by_age_band": "Số người có hồ sơ quản lý theo độ tuổi",
        "on_record_by_status": "Số người có hồ sơ quản lý theo tình trạng",
    }
    rows = []
    for key, items in report["breakdowns"].items():
        for item in items:
            parts = [
                MODALITY_VI.get(item.get("modality", ""), item.get("modality", "")),
                SEX_VI.get(item.get("sex", ""), item.get("sex", "")),
                item.get("age_band", ""),
                PERSON_STATUS_VI.get(item.get("status", ""), item.get("status", "")),
            ]
            rows.append([labels[key], " / ".join(p for p in parts if p), item["count"]])
    return rows


class _SafeWriter:
    """A csv writer whose every cell is escaped: the one way this module writes CSV."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([spreadsheet_cell(cell) for cell in row])

    def writerows(self, rows: Any) -> None:
        for row in rows:
            self.writerow(list(row))


def to_csv(report: dict[str, Any], signature: Signature | None = None) -> str:
    """The report as CSV; a submitted report's ends with its signature (who, when, the hash of its JSON)."""
    out = io.StringIO()
    w = _SafeWriter(out)
    w.writerow(
        [
            "Báo cáo",
            f"{report['unit_name']} ({report['unit_code']})",
            "Kỳ",
            report["period"],
            report["start"],
            report["end"],
        ]
    )
    if report.get("mapped_forward"):  # on today's units: the header says so (a 2024 report is as it was)
        w.writerow(["Ghi chú", report["hierarchy_note_vi"], "Đơn vị hành chính từ", report["hierarchy"]])
    w.writerow(["Phần", "Chỉ số", "Giá trị", "Chỉ tiêu", "Đánh giá", "Mã"])
    w.writerows(["Chỉ số", *r] for r in indicator_rows(report))
    w.writerow(["Phần", "Đơn vị", "Mã đơn vị", "Hình thức", "Chỉ tiêu", "Thực hiện", "Tỷ lệ"])
    w.writerows(["Chỉ tiêu cai nghiện", *r] for r in quota_rows(report))
    w.writerow(["Phần", "Nhóm", "Phân tổ", "Số người"])
    w.writerows(["Phân tổ", *r] for r in breakdown_rows(report))
    if signature is not None:
        w.writerow(["Phần", "Mục", "Nội dung"])
        w.writerows(["Xác nhận", label, value] for label, value in signature.rows())
    return out.getvalue()


def bundle_csv(reports: list[tuple[Any, dict[str, Any]]]) -> str:
    """Approved reports side by side for partners: one row per commune and indicator, with the submission's hash."""
    out = io.StringIO()
    w = _SafeWriter(out)
    w.writerow(["Mã đơn vị", "Đơn vị", "Kỳ", "Mã bản gửi", "SHA-256", "Mã chỉ số", "Chỉ số", "Giá trị"])
    for row, report in reports:
        for item in report["indicators"]:
            w.writerow(
                [
                    row.unit_code,
                    report["unit_name"],
                    row.period,
                    row.submission_id,
                    row.sha256,
                    item["indicator"],
                    INDICATOR_VI.get(item["indicator"], item["indicator"]),
                    _value(item["value"]),
                ]
            )
    return out.getvalue()


def to_xlsx(report: dict[str, Any], signature: Signature | None = None) -> bytes:
    """The report as a workbook; a submitted report's carries its `signature` in its properties and footers."""
    book = Workbook(write_only=True)
    title = f"Báo cáo công tác cai nghiện và quản lý sau cai - {report['unit_name']} - kỳ {report['period']}"
    sheets: list[tuple[str, list[str], list[list[Any]]]] = [
        ("Chỉ số", ["Chỉ số", "Giá trị", "Chỉ tiêu", "Đánh giá", "Mã chỉ số"], indicator_rows(report)),
        (
            "Chỉ tiêu cai nghiện",
            ["Đơn vị", "Mã", "Hình thức", "Chỉ tiêu giao", "Thực hiện", "Tỷ lệ"],
            quota_rows(report),
        ),
        (
            "Quản lý sau cai",
            ["Mã hồ sơ", "Mã người", "Hình thức", "Mã xã", "Ngày hoàn thành", "Số ngày chờ", "Số ngày quá hạn"],
            [
                [
                    u["case_id"],
                    u["person_id"],
                    MODALITY_VI.get(u["modality"], u["modality"]),
                    u["commune_code"],
                    u["completed_on"],
                    u["days_waiting"],
                    u["days_overdue"],
                ]
                for u in report["coverage"]["uncovered"]
            ],
        ),
        ("Phân tổ", ["Nhóm", "Phân tổ", "Số người"], breakdown_rows(report)),
        (
            "Tồn đọng",
            ["Loại", "Mã hồ sơ", "Mã xã", "Từ ngày", "Số ngày"],
            [
                ["Bỏ trốn chưa trở lại", a["case_id"], a["commune_code"], a["absconded_on"], a["days_at_large"]]
                for a in report["outstanding"]["absconders_at_large"]
            ]
            + [
                [
                    "Chờ quyết định quản lý sau cai",
                    a["case_id"],
                    a["commune_code"],
                    a["completed_on"],
                    a["days_waiting"],
                ]
                for a in report["outstanding"]["awaiting_post_rehab_decision"]
            ],
        ),
    ]
    for name, header, rows in sheets:  # written as streamed: no cell objects kept for a nation's 50,000 rows
        sheet: Any = book.create_sheet(name)
        for column, width in zip("ABCDEFG", (48, 14, 22, 16, 14, 14, 16), strict=False):
            sheet.column_dimensions[column].width = width  # before any row, as a streamed sheet wants
        if signature is not None:
            footer = sheet.HeaderFooter.oddFooter
            footer.left.text, footer.right.text = signature.footer_left(), signature.footer_right()
        sheet.append([_styled(sheet, title, Font(bold=True, size=13))])
        sheet.append([_text(sheet, f"Từ ngày {report['start']} đến ngày {report['end']}{_note(report)}")])
        sheet.append([])
        bold = Font(bold=True)
        sheet.append([_styled(sheet, h, bold) for h in header])
        for row in rows:
            sheet.append([_text(sheet, v) if isinstance(v, str) and v.startswith("=") else v for v in row])
    stamp = datetime.fromisoformat(report["end"])  # fixed metadata: the same report gives the same bytes
    modified = stamp
    if signature is not None:
        stamp, modified = signature.submitted_at.astimezone(UTC), signature.modified.astimezone(UTC)
        signature.describe(book.properties)
    book.properties.created, book.properties.modified = stamp.replace(tzinfo=None), modified.replace(tzinfo=None)
    out = io.BytesIO()
    book.save(out)
    return _fixed_zip(out.getvalue(), stamp.timetuple()[:6], modified.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _note(report: dict[str, Any]) -> str:
    """The second heading line's note on the units a report mapped forward onto (nothing for a 2024 report)."""
    return f" - {report['hierarchy_note_vi']}" if report.get("mapped_forward") else ""


def _text(sheet: Any, value: str) -> Cell:
    """`value` as text, always: openpyxl types a string beginning with '=' as a formula unless told otherwise."""
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    return cell


def _styled(sheet: Any, value: str, font: Font) -> Cell:
    cell = _text(sheet, value)
    cell.font = font
    return cell


def _fixed_zip(content: bytes, when: tuple[int, ...], modified: str | None = None) -> bytes:
    """The same workbook with every zip entry dated `when`, so equal reports are equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(when[0], when[1], when[2], when[3], when[4], when[5]))
            info.compress_type = zipfile.ZIP_DEFLATED
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":  # openpyxl stamps the save time here whatever we set
                fixed = modified or f"{when[0]:04d}-{when[1]:02d}-{when[2]:02d}T00:00:00Z"
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + fixed.encode(), data)
            target.writestr(info, data)
    return out.getvalue()
