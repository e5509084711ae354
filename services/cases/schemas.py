"""Request and response bodies of the cases API.

Numbers of decisions and certificates are document references; facilities, reasons and mentors are free text
(shared/vn/text.py), which the events do not carry (the domain keeps it as event notes).
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.cases.domain.rules import Modality
from shared.kernel.events import HistoryEntry
from shared.vn.text import FreeText, Reference


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EnrolmentIn(_Body):
    person_id: UUID
    modality: Modality
    decision_number: Reference = Field(min_length=1, max_length=60)
    decided_on: date
    started_on: date
    facility: FreeText | None = Field(default=None, max_length=200)
    planned_months: int | None = Field(default=None, ge=1, le=60)
    court_decision_number: Reference | None = Field(default=None, max_length=60)


class CompletionIn(_Body):
    completed_on: date
    certificate_number: Reference = Field(min_length=1, max_length=60)


class AbscondmentIn(_Body):
    absconded_on: date


class ReturnIn(_Body):
    returned_on: date


class DropoutIn(_Body):
    dropped_on: date
    reason: FreeText = Field(default="", max_length=500)


class TerminationIn(_Body):
    terminated_on: date
    reason: FreeText = Field(min_length=1, max_length=500)


class PostRehabIn(_Body):
    decision_number: Reference = Field(min_length=1, max_length=60)
    decided_on: date
    starts_on: date
    months: int | None = Field(default=None, ge=1, le=60)
    mentor: FreeText = Field(min_length=1, max_length=200)


class PostRehabEndIn(_Body):
    ended_on: date
    certificate_number: Reference = Field(min_length=1, max_length=60)


class RelapseIn(_Body):
    detected_on: date


class DrugTestIn(_Body):
    tested_on: date
    result: Literal["positive", "negative"]
    facility: FreeText | None = Field(default=None, max_length=200)


class RelapseRuledOutIn(_Body):
    decided_on: date
    reason: FreeText = Field(default="", max_length=500)


class MoveNoticeIn(_Body):
    noticed_on: date
    move: int | None = Field(default=None, ge=1, description="the move (as the work list names it); the latest one")


class MoveReportIn(_Body):
    reported_on: date
    move: int | None = Field(default=None, ge=1, description="the move (as the work list names it); the latest one")


class MonitoringIn(_Body):
    ordered_on: date
    starts_on: date
    ends_on: date


class MonitoringEndIn(_Body):
    ended_on: date


class DrugTestOut(BaseModel):
    tested_on: date
    result: str
    during: str
    facility: str | None


class MoveOut(BaseModel):
    move: int
    from_commune: str
    to_commune: str
    moved_on: date
    notice_due_on: date | None
    noticed_on: date | None
    report_due_on: date | None
    reported_on: date | None
    rules_from: date


class MonitoringOut(BaseModel):
    order: int
    ordered_by: str
    ordered_by_unit: str
    ordered_on: date
    starts_on: date
    ends_on: date
    ended_on: date | None


class CaseOut(BaseModel):
    case_id: str
    person_id: str
    commune_code: str
    modality: Modality
    state: str
    version: int
    decision_number: str
    decided_on: date
    started_on: date
    planned_months: int | None
    course_number: int | None = None
    planned_end: date | None
    facility: str | None
    court_decision_number: str | None
    absconded_on: date | None
    absconded_days: int
    completed_on: date | None
    certificate_number: str | None
    post_rehab_decision_number: str | None
    post_rehab_decided_on: date | None
    post_rehab_starts_on: date | None
    post_rehab_months: int | None
    post_rehab_ends_on: date | None
    mentor: str | None
    post_rehab_certificate_number: str | None
    closed_on: date | None
    close_reason: str | None
    relapsed_on: date | None
    positive_test_on: date | None = None  # a positive test during post-rehab management awaiting a decision
    drug_tests: list[DrugTestOut] = []  # the duties (issue 16 item 7), shown on one case (GET /cases/{id})
    moves: list[MoveOut] = []
    monitoring: list[MonitoringOut] = []
    history: list[HistoryEntry] = []  # every event of the case, on one case (GET /cases/{id})
    actions: list[str] = []  # the steps the caller may record now (services/cases/policy.py)


class CasePage(BaseModel):
    items: list[CaseOut]
    page: int
    page_size: int
    total: int
