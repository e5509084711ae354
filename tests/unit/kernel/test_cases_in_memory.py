"""The cases application service end to end over the in-memory store and unit of work: no database, milliseconds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from services.cases import steps
from services.cases.commands import Cases
from services.cases.domain.case import OPEN_STATES, PersonFacts
from services.cases.domain.rules import rulebook
from services.cases.projection import case_of
from services.cases.schemas import AbscondmentIn, CompletionIn, EnrolmentIn
from shared.kernel.events import CommandContext, Envelope
from shared.kernel.memory import MemoryEventStore, MemoryState, MemoryTransaction, MemoryUnitOfWork
from shared.kernel.rules import RuleViolation
from shared.runtime.auth import Principal, Role
from shared.runtime.errors import Forbidden, NotFound
from shared.vn.units import admin_units

PERSON = UUID("01900000-0000-7000-8000-000000000001")
OFFICER = Principal(sub="o1", role=Role.DISTRICT_OFFICER, unit="220")
POLICE = Principal(sub="p1", role=Role.COMMUNE_POLICE, unit="220")
ELSEWHERE = Principal(sub="o2", role=Role.DISTRICT_OFFICER, unit="001")


class MemoryCaseViews:
    """The directory and the `cases` rows as dicts in the memory state (what SqlCaseViews keeps in tables)."""

    async def enrolling(
        self, conn: MemoryTransaction, person_id: str
    ) -> tuple[PersonFacts | None, tuple[str, str] | None, int]:
        person: PersonFacts | None = conn.state.table("directory").get(person_id)
        if person is None:
            return None, None, 0
        return person, await self.open_case(conn, person_id), await self.earlier_courses(conn, person_id)

    async def open_case(self, conn: MemoryTransaction, person_id: str) -> tuple[str, str] | None:
        for case in conn.state.table("cases").values():
            if case.person_id == person_id and case.state in OPEN_STATES:
                return case.case_id, case.state
        return None

    async def earlier_courses(self, conn: MemoryTransaction, person_id: str) -> int:
        cases = conn.state.table("cases").values()
        return sum(1 for c in cases if c.person_id == person_id and c.modality != "methadone")

    async def project(
        self, conn: MemoryTransaction, case_id: str, history: Sequence[Envelope], fresh: bool = False
    ) -> None:
        assert not fresh or case_id not in conn.state.table("cases"), "a fresh case already had a row"
        conn.state.table("cases")[case_id] = case_of(case_id, history)


@pytest.fixture
def world() -> tuple[Cases, MemoryState]:
    state = MemoryState()
    state.table("directory")[str(PERSON)] = PersonFacts(
        str(PERSON), "07616", "addict", "male", 1990, True, date(2024, 1, 2)
    )
    cases = Cases(MemoryEventStore(), admin_units(), rulebook(), MemoryCaseViews(), clock=lambda: date(2025, 6, 1))
    return cases, state


def enrolment(**changes: Any) -> EnrolmentIn:
    fields = {
        "person_id": PERSON,
        "modality": "voluntary_community",
        "decision_number": "QD-1",
        "decided_on": date(2024, 1, 10),
        "started_on": date(2024, 1, 10),
        "planned_months": 6,
    }
    return EnrolmentIn.model_validate(fields | changes)


async def test_enrol_then_complete_commits_events_outbox_and_the_read_row(world: tuple[Cases, MemoryState]) -> None:
    cases, state = world
    async with MemoryUnitOfWork(state) as uow:
        case_id = await cases.enroll(uow, OFFICER, enrolment())
        await uow.commit()
    async with MemoryUnitOfWork(state) as uow:
        done = CompletionIn(completed_on=date(2024, 7, 10), certificate_number="GCN-1")
        case = await cases.run(uow, OFFICER, case_id, steps.COMPLETE, done)
        await uow.commit()
    assert (case.state, case.version) == ("completed", 2)
    assert [e.event_type for e in state.streams[case_id]] == ["case_enrolled", "case_completed"]
    assert len(state.outbox) == 2 and state.tables["cases"][case_id].state == "completed"


async def test_a_second_open_case_is_refused_and_nothing_is_kept(world: tuple[Cases, MemoryState]) -> None:
    cases, state = world
    async with MemoryUnitOfWork(state) as uow:
        await cases.enroll(uow, OFFICER, enrolment())
        await uow.commit()
    with pytest.raises(RuleViolation):
        async with MemoryUnitOfWork(state) as uow:
            await cases.enroll(uow, OFFICER, enrolment(decision_number="QD-2"))
    assert len(state.streams) == 1 and len(state.outbox) == 1


async def test_a_step_is_authorized_by_the_action_it_declares(world: tuple[Cases, MemoryState]) -> None:
    cases, state = world
    async with MemoryUnitOfWork(state) as uow:
        case_id = await cases.enroll(uow, OFFICER, enrolment(modality="voluntary_facility"))
        await uow.commit()
    async with MemoryUnitOfWork(state) as uow:
        with pytest.raises(Forbidden):  # the police may record an abscondment, not a completion
            done = CompletionIn(completed_on=date(2024, 7, 10), certificate_number="GCN-1")
            await cases.run(uow, POLICE, case_id, steps.COMPLETE, done)
        with pytest.raises(NotFound):  # outside the caller's area a case does not exist
            await cases.run(uow, ELSEWHERE, case_id, steps.ABSCOND, AbscondmentIn(absconded_on=date(2024, 2, 1)))
        case = await cases.run(uow, POLICE, case_id, steps.ABSCOND, AbscondmentIn(absconded_on=date(2024, 2, 1)))
    assert case.state == "absconded"
    assert len(state.streams[case_id]) == 1  # never committed: the abscondment was rolled back


async def test_a_registry_fact_moves_the_open_case_as_the_system(world: tuple[Cases, MemoryState]) -> None:
    cases, state = world
    async with MemoryUnitOfWork(state) as uow:
        case_id = await cases.enroll(uow, OFFICER, enrolment())
        await uow.commit()
    async with MemoryUnitOfWork(state) as uow:
        sealed = await cases.follow(uow, case_id, lambda c: c.close_on_death(date(2024, 3, 1)), CommandContext())
        await uow.commit()
    assert [e.actor.sub for e in sealed] == ["system"]
    assert state.tables["cases"][case_id].state not in OPEN_STATES
