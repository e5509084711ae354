"""The cases service's use cases: load a Case, let it decide, append and project in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.cases.domain import refusals as no
from services.cases.domain.case import OPEN_STATES, Case, PersonFacts
from services.cases.domain.events import CASE_EVENTS
from services.cases.domain.rules import RuleBook
from services.cases.policy import authorize
from services.cases.projection import case_of, project
from services.cases.schemas import EnrolmentIn
from services.cases.tables import cases, directory
from shared.auth import Principal
from shared.clock import today
from shared.errors import NotFound
from shared.events import PendingEvent
from shared.eventstore import EventStore
from shared.ids import uuid7
from shared.units import AdminUnits

Decision = Callable[[Case], list[PendingEvent]]


@dataclass
class Cases:
    """The cases service's application service."""

    store: EventStore
    units: AdminUnits
    rules: RuleBook

    async def enroll(self, conn: AsyncConnection, who: Principal, body: EnrolmentIn) -> str:
        """Open a case for a person on record; 409 when they already have an open one."""
        authorize(who, "enroll", body.modality)
        person_id = str(body.person_id)
        person = await self.person(conn, person_id)
        if person is not None and not self.units.is_within(person.commune_code, who.unit):
            person = None  # outside the area it answers as an unknown person does: no commune, no existence
        open_case = await self._open_case(conn, person_id) if person is not None else None
        if open_case is not None:
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
            today(),
        )
        case_id = str(uuid7())
        sealed = await self.store.append(conn, case_id, 0, pending, who.context())
        try:
            async with conn.begin_nested():
                await project(conn, case_id, sealed)
        except IntegrityError:  # a concurrent enrolment of the same person won
            open_case = await self._open_case(conn, person_id)
            if open_case is not None:
                raise no.open_case_exists(*open_case) from None
            raise
        return case_id

    async def act(self, conn: AsyncConnection, who: Principal, case_id: str, action: str, decide: Decision) -> Case:
        """Apply one command to an existing case; returns the case after it."""
        history = await self.store.load(conn, case_id)
        case = case_of(case_id, history)
        if case.version == 0 or not self.units.is_within(case.commune_code, who.unit):
            raise NotFound(f"no case {case_id} in your area ({who.unit})")
        authorize(who, action, case.modality)
        sealed = await self.store.append(conn, case_id, case.version, decide(case), who.context())
        await project(conn, case_id, [*history, *sealed])
        for env in sealed:
            case.apply(CASE_EVENTS.decode(env), env.occurred_on, env.unit_code)
        return case

    async def person(self, conn: AsyncConnection, person_id: str) -> PersonFacts | None:
        row = (await conn.execute(select(directory).where(directory.c.person_id == person_id))).first()
        if row is None:
            return None
        return PersonFacts(row.person_id, row.commune_code, row.status, row.sex, row.birth_year, row.on_record)

    async def _open_case(self, conn: AsyncConnection, person_id: str) -> tuple[str, str] | None:
        row = (
            await conn.execute(
                select(cases.c.case_id, cases.c.state).where(
                    cases.c.person_id == person_id, cases.c.state.in_(OPEN_STATES)
                )
            )
        ).first()
        return None if row is None else (str(row.case_id), row.state)
