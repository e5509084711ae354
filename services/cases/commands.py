"""The cases use cases: load a Case through the repository, let it decide, save and project in one unit of work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from services.cases.domain import refusals as no
from services.cases.domain.case import Case, PersonFacts
from services.cases.domain.events import CASE_EVENTS
from services.cases.domain.rules import RuleBook
from services.cases.policy import authorize
from services.cases.projection import SqlCaseViews, case_of, unit_since
from services.cases.schemas import EnrolmentIn
from services.cases.steps import Step
from shared.kernel.clock import today
from shared.kernel.events import CommandContext, Envelope, PendingEvent
from shared.kernel.ids import uuid7
from shared.kernel.repository import EventStorePort, Repository
from shared.kernel.uow import UnitOfWork
from shared.runtime.auth import Principal, refuse_if_abolished, sees
from shared.runtime.errors import NotFound
from shared.vn.units import AdminUnits

Decision = Callable[[Case], list[PendingEvent]]


def _own_commune(case: Case) -> str:
    return case.commune_code


class CaseViews(Protocol):
    """The read side a command consults and keeps current (PostgreSQL: SqlCaseViews; tests: a fake)."""

    async def enrolling(self, conn: Any, person_id: str) -> tuple[PersonFacts | None, tuple[str, str] | None, int]:
        """What an enrolment reads, in one go: the person, their open case, their earlier courses of rehab."""
        ...

    async def open_case(self, conn: Any, person_id: str) -> tuple[str, str] | None: ...

    async def project(self, conn: Any, case_id: str, history: Sequence[Envelope], fresh: bool = False) -> None: ...


@dataclass
class Cases:
    """The cases service's application service; every method runs inside the caller's unit of work."""

    store: EventStorePort
    units: AdminUnits
    rules: RuleBook
    views: CaseViews = field(default_factory=SqlCaseViews)
    clock: Callable[[], date] = today

    @property
    def repository(self) -> Repository[Case]:
        return Repository(self.store, case_of)

    async def enroll(self, uow: UnitOfWork, who: Principal, body: EnrolmentIn) -> str:
        """Open a case for a person on record; 409 when they already have an open one."""
        authorize(who, "enroll", body.modality)
        self.refuse_if_abolished(who, body)
        person_id = str(body.person_id)
        person, open_case, earlier = await self.views.enrolling(uow.conn, person_id)
        if person is not None and not self.sees(who, person.commune_code, person.unit_on):
            person = None  # outside the area it answers as an unknown person does: no commune, no existence
        if person is not None and person.unit_on is not None:  # a case opened after the reform is today's unit's
            person = replace(
                person, commune_code=self.units.code_on(person.commune_code, person.unit_on, body.started_on)
            )
        if person is not None and open_case is not None:
            raise no.open_case_exists(*open_case)
        pending = Case.enroll(
            person,
            person_id,
            body.modality,
            body.decision_number,
            body.decided_on,
            body.started_on,
            body.planned_months,
            body.facility,
            body.court_decision_number,
            self.rules,
            self.clock(),
            earlier if person is not None else 0,
        )
        case_id = str(uuid7())
        sealed = await self.repository.save(uow, case_id, 0, pending, who.context())
        try:
            async with uow.conn.begin_nested():
                await self.views.project(uow.conn, case_id, sealed, fresh=True)  # a new id: nothing to replace
        except IntegrityError:  # a concurrent enrolment of the same person won
            open_case = await self.views.open_case(uow.conn, person_id)
            if open_case is not None:
                raise no.open_case_exists(*open_case) from None
            raise
        return case_id

    async def act(
        self,
        uow: UnitOfWork,
        who: Principal,
        case_id: str,
        action: str,
        decide: Decision,
        unit: Callable[[Case], str] | None = None,
    ) -> Case:
        """Apply one command to an existing case (the caller must be in the area of `unit`, by default the case's
        commune); returns the case after it."""
        loaded = await self.repository.load(uow, case_id)
        case = loaded.aggregate
        if case.version == 0 or not self.sees(who, (unit or _own_commune)(case), unit_since(loaded.history)):
            raise NotFound(f"no case {case_id} in your area ({who.unit})")
        authorize(who, action, case.modality)
        await self.save(uow, loaded.history, case, decide(case), who.context())
        return case

    async def run(self, uow: UnitOfWork, who: Principal, case_id: str, step: Step, body: Any) -> Case:
        """One declared step: authorize its action, then let the case decide with this service's rules and clock.

        An abolished unit's account recording anything dated on or after its abolition is refused first (403
        naming the successors), before the case is looked up.
        """
        self.refuse_if_abolished(who, body)
        return await self.act(
            uow,
            who,
            case_id,
            step.action,
            lambda c: step.decide(c, body, self.rules, self.clock()),
            lambda c: step.unit_of(c, body),
        )

    def sees(self, who: Principal, unit_code: str, recorded_on: date | None) -> bool:
        """The area check in time (shared.runtime.auth.sees): today's hierarchy over the unit as recorded."""
        return recorded_on is not None and sees(who, self.units, unit_code, recorded_on)

    def refuse_if_abolished(self, who: Principal, body: Any) -> None:
        """403 for an abolished unit's account when any date the command records is on or after the reform."""
        dated = legal_dates(body)
        if dated:
            refuse_if_abolished(who, self.units, max(dated))

    async def follow(self, uow: UnitOfWork, case_id: str, decide: Decision, ctx: CommandContext) -> list[Envelope]:
        """A fact from elsewhere that changes a case (a move, a death): no caller to authorize, the system acts."""
        loaded = await self.repository.load(uow, case_id)
        pending = decide(loaded.aggregate)
        if not pending:
            return []
        return await self.save(uow, loaded.history, loaded.aggregate, pending, ctx)

    async def save(
        self, uow: UnitOfWork, history: list[Envelope], case: Case, pending: list[PendingEvent], ctx: CommandContext
    ) -> list[Envelope]:
        """Save what the case decided at the version it was read, project it, and apply it to the aggregate."""
        sealed = await self.repository.save(uow, case.case_id, case.version, pending, ctx)
        await self.views.project(uow.conn, case.case_id, [*history, *sealed])
        for env in sealed:
            case.apply(CASE_EVENTS.decode(env), env.occurred_on, env.unit_code)
        return sealed


def legal_dates(body: Any) -> list[date]:
    """The dates a command's body records facts for (decided on, started on, completed on...)."""
    if not isinstance(body, BaseModel):
        return []
    return [v for v in body.__dict__.values() if isinstance(v, date)]
