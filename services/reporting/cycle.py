"""The report cycle's application service: typed steps -> unit of work -> repository -> the Report aggregate.

Who may take each step is declared with it (`Step`): the commune's officer or police chief sends its own report
up; the province's officer reviews (approves, returns, reopens) the reports of the communes under it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy import text

from services.reporting.apply import KNOWN_LOCK, SWAP_LOCK, hold
from services.reporting.domain.events import REPORT_EVENTS
from services.reporting.domain.report import Report, report_stream
from services.reporting.hierarchy import hierarchy_of
from services.reporting.periods import parse_period
from services.reporting.submitted import as_known, canonical, digest, find, project
from shared.kernel.clock import today
from shared.kernel.ids import uuid7
from shared.kernel.repository import EventStorePort, Repository
from shared.kernel.rules import RuleViolation
from shared.kernel.uow import UnitOfWork
from shared.runtime.auth import Principal, Role
from shared.runtime.errors import Conflict, Forbidden, NotFound
from shared.vn.units import AdminUnits, UnknownUnitError

Action = Literal["approve", "return", "reopen"]


class RebuildRequired(Conflict):
    """The live facts were folded before the event log existed: a submission could not be reproduced from it."""

    code = "rebuild_required"


@dataclass(frozen=True)
class Step:
    """A step of the cycle, the roles the law gives it to, and whose unit they must be: the commune's own, or the
    province the commune lies in."""

    action: str
    action_vi: str
    roles: frozenset[Role]
    area: Literal["commune", "province"]

    def check(self, who: Principal, units: AdminUnits, unit_code: str) -> None:
        if who.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(
                f"role {who.role.value} may not {self.action} a report (allowed: {allowed}) "
                f"(vai trò {who.role.value} không được {self.action_vi} báo cáo; chỉ: {allowed})"
            )
        own = unit_code if self.area == "commune" else units.get(unit_code, edition="2025").parent
        if who.unit != own:
            raise Forbidden(
                f"only the {self.area} {own} may {self.action} the report of {unit_code} (your unit: {who.unit}) "
                f"(chỉ đơn vị {own} được {self.action_vi} báo cáo của {unit_code}; đơn vị của bạn: {who.unit})"
            )


SUBMIT = Step("submit", "gửi", frozenset({Role.COMMUNE_OFFICER, Role.COMMUNE_POLICE}), "commune")
APPROVE = Step("approve", "phê duyệt", frozenset({Role.PROVINCE_OFFICER}), "province")
RETURN = Step("return", "trả lại", frozenset({Role.PROVINCE_OFFICER}), "province")
REOPEN = Step("reopen", "mở lại", frozenset({Role.PROVINCE_OFFICER}), "province")
STEPS = (SUBMIT, APPROVE, RETURN, REOPEN)


def allowed_steps(who: Principal) -> list[str]:
    """The steps of the cycle the caller's role is given (its unit is checked on each report)."""
    return [step.action for step in STEPS if who.role in step.roles]


def require_commune_period(units: AdminUnits, unit_code: str, period: str, on: date) -> str:
    """The period's label when `unit_code` is one of today's communes, the period is on today's units and it has
    ended by `on` (a report goes up after its period, with what the period holds)."""
    span = parse_period(period)
    if span.end >= on:
        raise RuleViolation(
            "period_not_ended",
            f"the period {span.label} ends on {span.end.isoformat()}: its report is submitted after that day",
            f"kỳ {span.label} kết thúc ngày {span.end:%d/%m/%Y}: báo cáo kỳ này được gửi sau ngày đó",
            "invalid",
            "period",
        )
    if hierarchy_of(span.start, span.end).edition != "2025":
        raise RuleViolation(
            "period_before_reform",
            "the report cycle covers periods ending on or after 2025-07-01 (two-level local government)",
            "chu trình báo cáo áp dụng cho kỳ kết thúc từ ngày 01/07/2025 (chính quyền hai cấp)",
            "invalid",
            "period",
        )
    try:
        unit = units.get(unit_code, edition="2025")
    except (KeyError, UnknownUnitError):
        unit = None
    if unit is None or unit.level != "commune":
        raise RuleViolation(
            "not_a_commune",
            f"{unit_code[:12]} is not a commune of today's units: communes submit the periodic report",
            f"{unit_code[:12]} không phải đơn vị cấp xã hiện hành: cấp xã gửi báo cáo định kỳ",
            "invalid",
            "unit_code",
        )
    return span.label


@dataclass
class Submissions:
    """Submit, approve, return and reopen a commune's report of a period."""

    store: EventStorePort
    units: AdminUnits
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    legal_today: Callable[[], date] = today

    def repository(self, unit_code: str, period: str) -> Repository[Report]:
        return Repository(
            self.store, lambda _, history: Report.from_history(unit_code, period, map(REPORT_EVENTS.decode, history))
        )

    async def submit(
        self, uow: UnitOfWork, who: Principal, unit_code: str, period: str, document_number: str | None
    ) -> tuple[str, str]:
        """(submission id, sha256): the report as known now, hashed and recorded as submitted."""
        label = require_commune_period(self.units, unit_code, period, self.legal_today())
        SUBMIT.check(who, self.units, unit_code)
        stream = report_stream(unit_code, label)
        repository = self.repository(unit_code, label)
        loaded = await repository.load(uow, stream)
        # the order every apply takes them in (the swap lock shared, then this one): no deadlock with a rebuild
        await hold(uow.conn, SWAP_LOCK)
        await hold(uow.conn, KNOWN_LOCK, shared=False)  # apply.straggled_many
        if not await uow.conn.scalar(text("SELECT log_complete FROM generation WHERE id = 1")):
            raise RebuildRequired(
                "the report facts predate their event log: an operator must rebuild them (POST "
                "/projections/rebuild) before a report can be submitted (số liệu báo cáo cần được dựng lại trước khi "
                "gửi báo cáo; đề nghị bộ phận vận hành dựng lại số liệu)"
            )
        moment = self.clock()
        sha256 = digest(canonical(await as_known(uow.conn, self.units, unit_code, label, moment)))
        submission_id = str(uuid7())
        pending = loaded.aggregate.submit(submission_id, moment, sha256, document_number, self.legal_today())
        for env in await repository.save(uow, stream, loaded.version, pending, who.context()):
            await project(uow.conn, env)
        return submission_id, sha256

    async def review(
        self,
        uow: UnitOfWork,
        who: Principal,
        submission_id: str,
        action: Action,
        text: str = "",
        document_number: str | None = None,
    ) -> str:
        """Approve, return (with a comment) or reopen (with a reason) a submission; its report's new state."""
        row = await find(uow.conn, submission_id)
        if row is None:
            raise NotFound(f"no submission {submission_id} (không có bản gửi {submission_id})")
        step = {"approve": APPROVE, "return": RETURN, "reopen": REOPEN}[action]
        step.check(who, self.units, row.unit_code)
        repository = self.repository(row.unit_code, row.period)
        loaded = await repository.load(uow, row.stream_id)
        report, on = loaded.aggregate, self.legal_today()
        if action == "approve":
            pending = report.approve(submission_id, document_number, on)
        elif action == "return":
            pending = report.return_(submission_id, text, document_number, on)
        else:
            pending = report.reopen(submission_id, text, document_number, on)
        for env in await repository.save(uow, row.stream_id, loaded.version, pending, who.context()):
            await project(uow.conn, env)
            report.apply(REPORT_EVENTS.decode(env))
        return report.state
