"""The Report aggregate's transitions: draft → submitted → approved | returned; returned → submitted; approved →
reopened → submitted; every other step refused with a rule a person can read (in English and Vietnamese)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.reporting.cycle import allowed_steps
from services.reporting.domain.events import ReportApproved, ReportReopened, ReportReturned, ReportSubmitted
from services.reporting.domain.report import Report
from shared.kernel.rules import RuleViolation
from shared.runtime.auth import Principal, Role

ON = date(2026, 7, 3)
AT = datetime(2026, 7, 3, 2, 0, tzinfo=UTC)


def submitted(report: Report, submission_id: str) -> Report:
    for pending in report.submit(submission_id, AT, "ab" * 32, "12/BC-UBND", ON):
        report.apply(pending.event)
    return report


def step(report: Report, pending: list) -> Report:  # type: ignore[type-arg]
    for p in pending:
        report.apply(p.event)
    return report


def test_a_submission_is_approved_then_reopened_with_a_reason_and_submitted_again() -> None:
    report = submitted(Report("07615", "2026-H1"), "s1")
    assert report.state == "submitted"
    step(report, report.approve("s1", "5/QĐ-UBND", ON))
    assert report.state == "approved"
    pending = report.reopen("s1", "số liệu hoàn thành nhập muộn", None, ON)
    assert isinstance(pending[0].event, ReportReopened)
    assert pending[0].notes == {"reason": "số liệu hoàn thành nhập muộn"}
    assert "số liệu" not in pending[0].event.model_dump_json()  # the reason is a note, never on the bus
    step(report, pending)
    submitted(report, "s2")
    assert report.state == "submitted"
    assert [s.submission_id for s in report.submissions] == ["s1", "s2"]
    assert [s.number for s in report.submissions] == [1, 2]


def test_a_returned_submission_carries_its_comment_as_a_note_and_can_be_submitted_again() -> None:
    report = submitted(Report("07615", "2026-H1"), "s1")
    pending = report.return_("s1", "thiếu số liệu methadone", None, ON)
    assert isinstance(pending[0].event, ReportReturned) and pending[0].notes == {"comment": "thiếu số liệu methadone"}
    step(report, pending)
    assert report.state == "returned"
    submitted(report, "s2")
    assert report.latest is not None and report.latest.number == 2


@pytest.mark.parametrize(
    ("history", "attempt", "code"),
    [
        ([], lambda r: r.approve("s1", None, ON), "not_the_latest_submission"),
        (["submit"], lambda r: r.submit("s2", AT, "00", None, ON), "invalid_transition"),
        (["submit"], lambda r: r.reopen("s1", "lý do", None, ON), "invalid_transition"),
        (["submit", "approve"], lambda r: r.approve("s1", None, ON), "invalid_transition"),
        (["submit", "approve"], lambda r: r.return_("s1", "sửa", None, ON), "invalid_transition"),
        (["submit", "approve"], lambda r: r.submit("s2", AT, "00", None, ON), "invalid_transition"),
        (["submit", "return"], lambda r: r.approve("s1", None, ON), "invalid_transition"),
        (["submit"], lambda r: r.return_("s1", "  ", None, ON), "comment_required"),
        (["submit", "approve"], lambda r: r.reopen("s1", "", None, ON), "reason_required"),
        (["submit", "return", "resubmit"], lambda r: r.approve("s1", None, ON), "not_the_latest_submission"),
    ],
)
def test_a_step_out_of_turn_is_refused(history: list[str], attempt: object, code: str) -> None:
    events = {
        "submit": ReportSubmitted(
            submission_id="s1",
            number=1,
            unit_code="07615",
            period="2026-H1",
            known_at=AT,
            sha256="00",
            document_number=None,
        ),
        "resubmit": ReportSubmitted(
            submission_id="s2",
            number=2,
            unit_code="07615",
            period="2026-H1",
            known_at=AT,
            sha256="00",
            document_number=None,
        ),
        "approve": ReportApproved(submission_id="s1", document_number=None),
        "return": ReportReturned(submission_id="s1", document_number=None, comment_given=True),
    }
    report = Report.from_history("07615", "2026-H1", [events[h] for h in history])
    with pytest.raises(RuleViolation) as refused:
        attempt(report)  # type: ignore[operator]
    assert refused.value.code == code
    assert refused.value.message_vi and refused.value.message_vi != refused.value.message


def test_what_the_report_events_carry_is_codes_references_times_and_hashes_never_typed_text() -> None:
    from services.reporting.domain.events import REPORT_EVENTS

    fields = {name for cls in REPORT_EVENTS.classes() for name in cls.model_fields}
    assert fields == {
        "submission_id",
        "number",
        "unit_code",
        "period",
        "known_at",
        "sha256",
        "document_number",
        "comment_given",
        "reason_given",
    }


@pytest.mark.parametrize(
    ("role", "steps"),
    [
        (Role.COMMUNE_OFFICER, ["submit"]),
        (Role.COMMUNE_POLICE, ["submit"]),
        (Role.PROVINCE_OFFICER, ["approve", "return", "reopen"]),
        (Role.HEALTH_FACILITY, []),
        (Role.OPS, []),
    ],
)
def test_what_a_role_is_told_it_may_do_is_the_cycle_s_steps(role: Role, steps: list[str]) -> None:
    assert allowed_steps(Principal(sub="t", role=role, unit="07615")) == steps
