"""What a submitted report's files say about it: unit, period, who submitted and reviewed it, when, and its hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


def _who(actor: dict[str, Any] | None) -> str:
    return "" if not actor else f"{actor['sub']} ({actor['role']}, {actor['unit']})"


@dataclass(frozen=True)
class Signature:
    """A submission as it is signed in its exports (sha256: of the report's canonical JSON).

    The files change once, when the submission is approved (the approver is added), and never otherwise: a return
    or a reopening does not touch what was sent or what was approved.
    """

    submission_id: str
    unit_code: str
    unit_name: str
    period: str
    status: str
    sha256: str
    submitted_at: datetime
    submitted_by: dict[str, Any]
    document_number: str | None = None
    reviewed_at: datetime | None = None
    reviewed_by: dict[str, Any] | None = None

    @property
    def approved(self) -> bool:
        return self.status in ("approved", "reopened")

    @property
    def modified(self) -> datetime:
        """The files' modification time: the approval's, or the submission's."""
        return self.reviewed_at if self.approved and self.reviewed_at else self.submitted_at

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("Mã bản gửi", self.submission_id),
            ("Đơn vị", f"{self.unit_name} ({self.unit_code})"),
            ("Kỳ báo cáo", self.period),
            ("Xác nhận", "Đã phê duyệt" if self.approved else "Đã gửi"),
            ("Người gửi", _who(self.submitted_by)),
            ("Thời điểm gửi (UTC)", self.submitted_at.isoformat()),
            ("Số văn bản", self.document_number or ""),
            ("Người phê duyệt", _who(self.reviewed_by) if self.approved else ""),
            ("Thời điểm phê duyệt (UTC)", self.reviewed_at.isoformat() if self.approved and self.reviewed_at else ""),
            ("SHA-256 của báo cáo (JSON)", self.sha256),
        ]

    def footer_left(self) -> str:
        return f"{self.unit_code} - kỳ {self.period} - SHA-256 {self.sha256}"

    def footer_right(self) -> str:
        sent = f"Gửi: {self.submitted_by['sub']} {self.submitted_at:%Y-%m-%d}"
        if self.approved and self.reviewed_by and self.reviewed_at:
            return f"{sent}; Duyệt: {self.reviewed_by['sub']} {self.reviewed_at:%Y-%m-%d}"
        return sent

    def describe(self, properties: Any) -> None:
        """openpyxl's document properties: title, creator, approver, hash."""
        properties.title = f"Báo cáo {self.unit_name} ({self.unit_code}) kỳ {self.period}"
        properties.subject = "Báo cáo định kỳ đã phê duyệt" if self.approved else "Báo cáo định kỳ đã gửi"
        properties.creator = _who(self.submitted_by)
        properties.lastModifiedBy = _who(self.reviewed_by) if self.approved else _who(self.submitted_by)
        properties.identifier = self.submission_id
        properties.keywords = f"sha256:{self.sha256}"
        properties.description = "; ".join(f"{label}: {value}" for label, value in self.rows())
