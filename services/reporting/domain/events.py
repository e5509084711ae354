"""The report cycle's events: one stream per (unit, period) report, published on rehab.reports.events.

Only codes, references, times and hashes: the province's comment on a return and its reason for reopening are
free text, kept as event notes in reporting's own database (shared/kernel/notes.py), never on Kafka.
"""

from __future__ import annotations

from datetime import datetime

from shared.kernel.events import Event, EventRegistry

REPORT_EVENTS = EventRegistry()


@REPORT_EVENTS.register
class ReportSubmitted(Event):
    """The commune sent its report of the period up: the report as known at `known_at`, whose canonical JSON hashes
    to `sha256`."""

    event_type = "report_submitted"

    submission_id: str
    number: int  # 1 for the first submission of the report, 2 for the one after a return or a reopening, ...
    unit_code: str
    period: str
    known_at: datetime
    sha256: str
    document_number: str | None


@REPORT_EVENTS.register
class ReportReturned(Event):
    """The province sent the submission back for correction, with a comment (a note, not in the payload)."""

    event_type = "report_returned"

    submission_id: str
    document_number: str | None
    comment_given: bool


@REPORT_EVENTS.register
class ReportApproved(Event):
    """The province approved the submission: the report of the period is locked."""

    event_type = "report_approved"

    submission_id: str
    document_number: str | None


@REPORT_EVENTS.register
class ReportReopened(Event):
    """The province reopened an approved report, with a reason (a note), so that the commune submits again."""

    event_type = "report_reopened"

    submission_id: str
    document_number: str | None
    reason_given: bool
