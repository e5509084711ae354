"""The quotas application service end to end over the in-memory store and `plans` rows: no database, milliseconds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pytest

from services.quotas.commands import Plans, Written
from services.quotas.domain.events import Target
from shared.kernel.eventstore import ConcurrencyError
from shared.kernel.memory import MemoryEventStore, MemoryState, MemoryUnitOfWork
from shared.kernel.rules import RuleViolation
from shared.runtime.audit import failure_status
from shared.runtime.auth import Principal, Role
from shared.runtime.errors import Forbidden
from shared.vn.units import admin_units
from tests.support.memory_quotas import MemoryPlanViews

SON_DONG, TAY_YEN_TU, AN_BA = "220", "07616", "07660"  # Sơn Động district of Bắc Giang (24) and two communes
THO_XUONG = "07201"  # a ward of Bắc Giang city (213): another district
PROVINCE = Principal(sub="tinh", role=Role.PROVINCE_OFFICER, unit="24")
DISTRICT = Principal(sub="huyen", role=Role.DISTRICT_OFFICER, unit=SON_DONG)
COMMUNE = Principal(sub="xa", role=Role.COMMUNE_OFFICER, unit=TAY_YEN_TU)


@pytest.fixture
def world() -> tuple[Plans, MemoryState]:
    return Plans(MemoryEventStore(), admin_units(), MemoryPlanViews(), clock=lambda: date(2024, 2, 1)), MemoryState()


async def put(
    world: tuple[Plans, MemoryState],
    unit_code: str,
    quotas: Mapping[str, int] | None,
    who: Principal = PROVINCE,
    document: str = "KH 01",
    targets: list[Target] | None = None,
) -> Written:
    plans, state = world
    async with MemoryUnitOfWork(state) as uow:
        written = await plans.put(uow, who, 2024, unit_code, quotas, targets, document, None)
        await uow.commit()
    return written


async def test_a_plan_is_issued_revised_and_an_unchanged_document_appends_nothing(
    world: tuple[Plans, MemoryState],
) -> None:
    _, state = world
    issued = await put(world, SON_DONG, {"compulsory": 5})
    assert (issued.outcome, issued.plan.version, issued.plan.revision) == ("created", 1, 1)
    row = state.tables["plans"][(2024, SON_DONG)]
    assert (row["parent_code"], row["unit_name"], row["quotas"]) == ("24", "Huyện Sơn Động", {"compulsory": 5})
    target = Target(indicator="methadone_enrolments", comparison=">=", value=10)
    revised = await put(world, SON_DONG, None, document="QĐ 2", targets=[target])  # None keeps the quotas
    assert (revised.outcome, revised.plan.revision, revised.plan.quotas) == ("revised", 2, {"compulsory": 5})
    again = await put(world, SON_DONG, {"compulsory": 5}, document="QĐ 3", targets=[target])
    assert again.outcome == "unchanged"
    events = [e.event_type for e in state.streams["plan-2024-220"]]
    assert events == ["plan_issued", "plan_revised"] and len(state.outbox) == 2
    assert state.tables["plans"][(2024, SON_DONG)]["document_number"] == "QĐ 2"


async def test_a_revision_below_what_the_children_hold_is_refused_and_keeps_nothing(
    world: tuple[Plans, MemoryState],
) -> None:
    _, state = world
    await put(world, SON_DONG, {"compulsory": 6})
    await put(world, TAY_YEN_TU, {"compulsory": 3}, who=DISTRICT)
    await put(world, AN_BA, {"compulsory": 2}, who=DISTRICT)
    with pytest.raises(RuleViolation) as cut:
        await put(world, SON_DONG, {"compulsory": 4}, document="QĐ 15")
    assert failure_status(cut.value) == 409 and cut.value.code == "quota_exceeded"
    assert "would hold 5 compulsory places" in cut.value.message and "quota is 4" in cut.value.message
    with pytest.raises(RuleViolation, match="would hold 7 compulsory places"):  # a child past its parent's quota
        await put(world, TAY_YEN_TU, {"compulsory": 5}, who=DISTRICT)
    assert len(state.streams["plan-2024-220"]) == len(state.streams["plan-2024-07616"]) == 1
    assert state.tables["plans"][(2024, SON_DONG)]["quotas"] == {"compulsory": 6}
    assert (await put(world, TAY_YEN_TU, {"compulsory": 4}, who=DISTRICT)).outcome == "revised"  # within bounds


async def test_only_district_and_province_officers_write_and_only_inside_their_area(
    world: tuple[Plans, MemoryState],
) -> None:
    _, state = world
    with pytest.raises(Forbidden, match="may not write plans"):
        await put(world, TAY_YEN_TU, {"compulsory": 1}, who=COMMUNE)
    with pytest.raises(Forbidden, match="outside your area"):
        await put(world, THO_XUONG, {"compulsory": 1}, who=DISTRICT)
    with pytest.raises(RuleViolation, match="unknown unit code 99999") as unknown:
        await put(world, "99999", {"compulsory": 1}, who=DISTRICT)
    assert failure_status(unknown.value) == 422
    assert state.streams == {} and state.outbox == []


async def test_two_revisions_decided_on_the_same_version_conflict_and_the_later_keeps_nothing(
    world: tuple[Plans, MemoryState],
) -> None:
    plans, state = world
    await put(world, SON_DONG, {"compulsory": 5})
    first, second = MemoryUnitOfWork(state), MemoryUnitOfWork(state)
    async with first, second:  # both read the plan at version 1
        await plans.put(first, PROVINCE, 2024, SON_DONG, {"compulsory": 6}, None, "QĐ 2", None)
        await plans.put(second, PROVINCE, 2024, SON_DONG, {"compulsory": 7}, None, "QĐ 3", None)
        await first.commit()
        with pytest.raises(ConcurrencyError) as stale:
            await second.commit()
    assert failure_status(stale.value) == 409
    assert [e.stream_version for e in state.streams["plan-2024-220"]] == [1, 2]
    assert state.tables["plans"][(2024, SON_DONG)]["quotas"] == {"compulsory": 6}
