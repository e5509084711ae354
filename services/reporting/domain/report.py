"""The Report aggregate: a unit's report of a period goes up, is returned or approved, and may be reopened.

    draft ──submit──▶ submitted ──approve──▶ approved ──reopen──▶ reopened ──submit──▶ submitted ...
                          └──return──▶ returned ──submit──▶ submitted ...

Every submission keeps its own id and hash in the history: a later one never replaces an earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from services.reporting.domain.events import ReportApproved, ReportReopened, ReportReturned, ReportSubmitted
from shared.kernel.events import Event, PendingEvent
from shared.kernel.rules import RuleViolation

STATES_VI = {
    "draft": "chưa gửi",
    "submitted": "đã gửi, chờ duyệt",
    "returned": "bị trả lại",
    "approved": "đã phê duyệt",
    "reopened": "đã mở lại",
}


def report_stream(unit_code: str, period: str) -> str:
    return f"report-{unit_code}-{period}"


@dataclass(frozen=True)
class Submission:
    submission_id: str
    number: int
    sha256: str
    known_at: datetime


@dataclass
class Report:
    """The state of one unit's report of one period."""

    unit_code: str
    period: str
    version: int = 0
    state: str = "draft"
    submissions: list[Submission] = field(default_factory=list)

    @classmethod
    def from_history(cls, unit_code: str, period: str, history: Iterable[Event]) -> Report:
        report = cls(unit_code, period)
        for event in history:
            report.apply(event)
        return report

    def apply(self, event: Event) -> None:
        self.version += 1
        match event:
            case ReportSubmitted():
                self.state = "submitted"
                self.submissions.append(Submission(event.submission_id, event.number, event.sha256, event.known_at))
            case ReportReturned():
                self.state = "returned"
            case ReportApproved():
                self.state = "approved"
            case ReportReopened():
                self.state = "reopened"

    @property
    def latest(self) -> Submission | None:
        return self.submissions[-1] if self.submissions else None

    def submit(
        self, submission_id: str, known_at: datetime, sha256: str, document_number: str | None, on: date
    ) -> list[PendingEvent]:
        """Send the report up (first time, after a return, or after a reopening)."""
        if self.state not in ("draft", "returned", "reopened"):
            raise _transition("submit", self.state, "gửi", "a report is submitted when drafted, returned or reopened")
        event = ReportSubmitted(
            submission_id=submission_id,
            number=len(self.submissions) + 1,
            unit_code=self.unit_code,
            period=self.period,
            known_at=known_at,
            sha256=sha256,
            document_number=document_number,
        )
        return [PendingEvent(event=event, occurred_on=on, unit_code=self.unit_code)]

    def return_(self, submission_id: str, comment: str, document_number: str | None, on: date) -> list[PendingEvent]:
        """Send the submission back with a comment saying what to correct."""
        self._reviewing(submission_id, "return", "trả lại")
        _required(
            comment,
            "comment",
            "a returned report needs a comment saying what to correct",
            "trả lại báo cáo phải kèm ý kiến nêu nội dung cần sửa",
        )
        event = ReportReturned(submission_id=submission_id, document_number=document_number, comment_given=True)
        return [PendingEvent(event=event, occurred_on=on, unit_code=self.unit_code, notes={"comment": comment})]

    def approve(self, submission_id: str, document_number: str | None, on: date) -> list[PendingEvent]:
        """Approve the submission: the period's report is locked."""
        self._reviewing(submission_id, "approve", "phê duyệt")
        event = ReportApproved(submission_id=submission_id, document_number=document_number)
        return [PendingEvent(event=event, occurred_on=on, unit_code=self.unit_code)]

    def reopen(self, submission_id: str, reason: str, document_number: str | None, on: date) -> list[PendingEvent]:
        """Reopen an approved report for a corrected submission; the approved one stays in the history."""
        self._current(submission_id)
        if self.state != "approved":
            raise _transition("reopen", self.state, "mở lại", "only an approved report is reopened")
        _required(
            reason,
            "reason",
            "reopening an approved report needs a reason",
            "mở lại báo cáo đã phê duyệt phải nêu lý do",
        )
        event = ReportReopened(submission_id=submission_id, document_number=document_number, reason_given=True)
        return [PendingEvent(event=event, occurred_on=on, unit_code=self.unit_code, notes={"reason": reason})]

    def _reviewing(self, submission_id: str, action: str, action_vi: str) -> None:
        self._current(submission_id)
        if self.state != "submitted":
            raise _transition(action, self.state, action_vi, "only a submitted report awaiting review is reviewed")

    def _current(self, submission_id: str) -> None:
        latest = self.latest
        if latest is None or latest.submission_id != submission_id:
            raise RuleViolation(
                "not_the_latest_submission",
                f"submission {submission_id} has been superseded by a later one of the same report",
                f"bản gửi {submission_id} đã được thay bằng bản gửi sau của cùng báo cáo",
                "conflict",
                "submission_id",
            )


def _transition(action: str, state: str, action_vi: str, why: str) -> RuleViolation:
    return RuleViolation(
        "invalid_transition",
        f"cannot {action} a report that is {state}: {why}",
        f"không thể {action_vi} báo cáo đang ở trạng thái '{STATES_VI[state]}'",
        "conflict",
        state=state,
    )


def _required(text: str, field: str, message: str, message_vi: str) -> None:
    """A review step's free text (a return's comment, a reopening's reason) must say something."""
    if not text.strip():
        raise RuleViolation(f"{field}_required", message, message_vi, "invalid", field)
