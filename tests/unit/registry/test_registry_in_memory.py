"""The registry application service end to end over the in-memory store and records: no database, milliseconds."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.registry import steps
from services.registry.commands import Registry
from services.registry.dedupe import ELSEWHERE, KnownCitizen, OnRecordElsewhere
from services.registry.schemas import DeathIn, DeterminationIn, NewPerson, ResidenceChangeIn
from services.registry.vault import Vault
from shared.kernel.eventstore import ConcurrencyError
from shared.kernel.memory import MemoryEventStore, MemoryState, MemoryUnitOfWork
from shared.kernel.rules import RuleViolation
from shared.runtime.audit import failure_status
from shared.runtime.auth import Principal, Role
from shared.runtime.errors import Forbidden, NotFound
from shared.runtime.ratelimit import RateLimited
from shared.vn.units import admin_units
from tests.support.memory_registry import MemoryLookups, MemoryRecords

TAY_YEN_TU, AN_BA = "07616", "07660"  # communes of Sơn Động district (220), Bắc Giang (24)
THO_XUONG = "07201"  # a ward of Bắc Giang city (213): another district
CITIZEN_ID = "024090001234"
OFFICER = Principal(sub="can-bo-tyt", role=Role.COMMUNE_OFFICER, unit=TAY_YEN_TU)
DISTRICT = Principal(sub="can-bo-sd", role=Role.DISTRICT_OFFICER, unit="220")
FACILITY = Principal(sub="bv-sd", role=Role.HEALTH_FACILITY, unit="220")
POLICE = Principal(sub="ca-tyt", role=Role.COMMUNE_POLICE, unit=TAY_YEN_TU)
ELSEWHERE_OFFICER = Principal(sub="can-bo-tx", role=Role.COMMUNE_OFFICER, unit=THO_XUONG)

World = tuple[Registry, MemoryState, MemoryLookups]


@pytest.fixture
def world() -> World:
    lookups = MemoryLookups()
    registry = Registry(
        MemoryEventStore(),
        admin_units(),
        Vault("unit-test-registry-key"),
        lookups,
        MemoryRecords(),
        clock=lambda: date(2025, 6, 1),
    )
    return registry, MemoryState(), lookups


def new_person(**changes: Any) -> NewPerson:
    fields = {
        "full_name": "Nguyễn Văn An",
        "date_of_birth": date(1990, 4, 12),
        "sex": "male",
        "commune_code": TAY_YEN_TU,
        "village": "Thôn Đồng Thanh",
        "status": "user",
        "source": "police_review",
        "recorded_on": date(2024, 3, 1),
    }
    return NewPerson.model_validate(fields | changes)


async def register(world: World, who: Principal = OFFICER, **changes: Any) -> tuple[str, list[str]]:
    registry, state, _ = world
    async with MemoryUnitOfWork(state) as uow:
        registered = await registry.register(uow, who, new_person(**changes))
        await uow.commit()
    return registered


def audit_actions(state: MemoryState) -> list[str]:
    return [row["action"] for row in state.table("audit_log").values()]


async def test_a_registration_commits_the_event_the_sealed_identity_the_read_row_and_its_audit_entry(
    world: World,
) -> None:
    registry, state, lookups = world
    person_id, likely = await register(world, citizen_id=CITIZEN_ID)
    assert likely == []
    assert [e.event_type for e in state.streams[person_id]] == ["person_registered"] and len(state.outbox) == 1
    assert state.tables["persons"][person_id].commune_code == TAY_YEN_TU
    identity = registry.vault.open(state.tables["identities"][person_id]["sealed"])
    assert (identity.full_name, identity.citizen_id) == ("Nguyễn Văn An", CITIZEN_ID)
    [entry] = state.tables["audit_log"].values()
    assert (entry["action"], entry["person_id"], entry["unit_code"]) == ("register", person_id, TAY_YEN_TU)
    assert lookups.spent == {OFFICER.sub: 1}  # a citizen id was looked up, and counted


async def test_the_same_name_birth_date_and_commune_is_a_likely_duplicate_and_no_lookup_is_counted(
    world: World,
) -> None:
    _, _, lookups = world
    first, _ = await register(world)
    second, likely = await register(world, village="Thôn Khác")
    assert likely == [first] and second != first
    assert lookups.spent == {}  # no citizen id, no identity lookup


async def test_a_known_citizen_id_in_the_area_answers_409_with_the_person_and_keeps_nothing(world: World) -> None:
    _, state, _ = world
    existing, _ = await register(world, citizen_id=CITIZEN_ID)
    with pytest.raises(KnownCitizen) as refused:
        await register(world, who=DISTRICT, citizen_id=CITIZEN_ID, full_name="Nguyễn Văn Ân")
    assert failure_status(refused.value) == 409 and refused.value.extra == {"person_id": existing}
    assert list(state.streams) == [existing] and len(state.outbox) == 1 and len(state.tables["identities"]) == 1


async def test_a_known_citizen_id_outside_the_area_answers_409_without_the_person(world: World) -> None:
    _, state, lookups = world
    existing, _ = await register(world, citizen_id=CITIZEN_ID)
    with pytest.raises(OnRecordElsewhere) as refused:
        await register(world, who=ELSEWHERE_OFFICER, citizen_id=CITIZEN_ID, commune_code=THO_XUONG)
    assert refused.value.code == "on_record_elsewhere" and "person_id" not in refused.value.extra
    assert TAY_YEN_TU not in refused.value.message and existing not in refused.value.message
    note = refused.value.audit_note  # the attempt goes in the trail of the area that manages the person
    assert (note.action, note.person_id, note.unit_code) == (ELSEWHERE, existing, TAY_YEN_TU)
    assert list(state.streams) == [existing] and lookups.spent[ELSEWHERE_OFFICER.sub] == 1


async def test_registering_outside_the_area_is_refused_before_any_lookup(world: World) -> None:
    _, state, lookups = world
    with pytest.raises(Forbidden, match="commune 07201 is outside your area"):
        await register(world, citizen_id=CITIZEN_ID, commune_code=THO_XUONG)
    with pytest.raises(RuleViolation) as unknown:  # no such commune: 422, also before the lookup
        await register(world, citizen_id=CITIZEN_ID, commune_code="99999")
    assert failure_status(unknown.value) == 422
    assert lookups.spent == {} and state.streams == {}


async def test_past_the_lookup_limit_a_registration_by_citizen_id_answers_429(world: World) -> None:
    registry, state, _ = world
    registry.lookups = MemoryLookups(per_account=1)
    await register(world, citizen_id=CITIZEN_ID)
    with pytest.raises(RateLimited) as limited:
        await register(world, citizen_id="024090009999", full_name="Trần Thị Bình")
    assert limited.value.status == 429 and limited.value.headers["Retry-After"] == "60"
    await register(world, full_name="Trần Thị Bình")  # without a citizen id there is nothing to look up
    assert len(state.streams) == 2


async def test_a_role_the_policy_does_not_list_is_refused_before_anything_is_read(world: World) -> None:
    registry, state, _ = world
    auditor = Principal(sub="tt", role=Role.AUDITOR, unit="220")
    with pytest.raises(Forbidden, match="may not register"):
        await register(world, who=auditor)
    person_id, _ = await register(world)
    body = DeterminationIn(result="addicted", determined_on=date(2024, 3, 5), facility="BV", form_number="01/XN")
    async with MemoryUnitOfWork(state) as uow:
        with pytest.raises(Forbidden, match="may not determine"):  # the police may not determine
            await registry.run(uow, POLICE, person_id, steps.DETERMINE, body)
        with pytest.raises(Forbidden, match="may not move"):  # 403 by role wherever the person is, even unknown
            move = ResidenceChangeIn(commune_code=AN_BA, moved_on=date(2024, 5, 1))
            await registry.move(uow, FACILITY, "01900000-0000-7000-8000-000000000009", move)
        with pytest.raises(NotFound):  # a role that may act, outside its area: the person does not exist
            await registry.run(uow, ELSEWHERE_OFFICER, person_id, steps.RECORD_DEATH, DeathIn(died_on=date(2024, 4, 1)))
    assert len(state.streams[person_id]) == 1


async def test_determine_move_and_death_each_append_project_and_audit(world: World) -> None:
    registry, state, _ = world
    person_id, _ = await register(world, citizen_id=CITIZEN_ID)
    match_key = state.tables["identities"][person_id]["match_key"]
    async with MemoryUnitOfWork(state) as uow:
        body = DeterminationIn(result="addicted", determined_on=date(2024, 3, 5), facility="BV", form_number="01/XN")
        assert await registry.run(uow, FACILITY, person_id, steps.DETERMINE, body) == 2
        move = ResidenceChangeIn(commune_code=AN_BA, village="Thôn Mới", moved_on=date(2024, 5, 1))
        assert await registry.move(uow, DISTRICT, person_id, move) == 3
        assert await registry.run(uow, DISTRICT, person_id, steps.RECORD_DEATH, DeathIn(died_on=date(2024, 6, 1))) == 4
        await uow.commit()
    events = [e.event_type for e in state.streams[person_id]]
    assert events == ["person_registered", "addiction_determined", "residence_changed", "person_died"]
    assert state.notes[state.streams[person_id][1].event_id] == {"facility": "BV"}  # typed text stays a note
    row = state.tables["persons"][person_id]
    assert (row.status, row.commune_code, row.died_on) == ("addict", AN_BA, date(2024, 6, 1))
    identity = state.tables["identities"][person_id]
    assert registry.vault.open(identity["sealed"]).village == "Thôn Mới" and identity["match_key"] != match_key
    assert audit_actions(state) == ["register", "determine", "move", "record_death"]
    details = [row["detail"] for row in state.tables["audit_log"].values()]
    assert details[1] == {"result": "addicted"} and details[2] == {"to_commune": AN_BA}


async def test_a_move_to_a_code_that_is_not_a_commune_and_a_step_on_a_closed_record_are_refused(
    world: World,
) -> None:
    registry, state, _ = world
    person_id, _ = await register(world)
    async with MemoryUnitOfWork(state) as uow:
        with pytest.raises(RuleViolation, match="unknown commune code 99999") as refused:
            nowhere = ResidenceChangeIn(commune_code="99999", moved_on=date(2024, 5, 1))
            await registry.move(uow, DISTRICT, person_id, nowhere)
        assert failure_status(refused.value) == 422
        await registry.run(uow, DISTRICT, person_id, steps.RECORD_DEATH, DeathIn(died_on=date(2024, 6, 1)))
        with pytest.raises(RuleViolation) as closed:
            await registry.run(uow, DISTRICT, person_id, steps.RECORD_DEATH, DeathIn(died_on=date(2024, 6, 2)))
        assert failure_status(closed.value) == 409


async def test_a_merge_closes_the_duplicate_and_the_survivor_inherits_its_citizen_id(world: World) -> None:
    registry, state, _ = world
    survivor, _ = await register(world)
    duplicate, likely = await register(world, citizen_id=CITIZEN_ID)
    assert likely == [survivor]
    async with MemoryUnitOfWork(state) as uow:
        await registry.merge(uow, DISTRICT, survivor, duplicate, date(2024, 4, 1))
        assert await registry.likely_duplicates(uow.conn, survivor) == []  # the closed record is no longer one
        await uow.commit()
    assert state.tables["persons"][duplicate].merged_into == survivor
    assert state.tables["identities"][duplicate]["citizen_key"] is None
    assert registry.vault.open(state.tables["identities"][survivor]["sealed"]).citizen_id == CITIZEN_ID
    async with MemoryUnitOfWork(state) as uow:
        assert await registry.records.holder_of(uow.conn, registry.vault.citizen_key(CITIZEN_ID) or "") == (
            survivor,
            TAY_YEN_TU,
            date(2024, 3, 1),
        )
    assert audit_actions(state)[-2:] == ["merge_closed", "merge_kept"]


async def test_two_records_with_different_citizen_ids_are_not_merged(world: World) -> None:
    registry, state, _ = world
    one, _ = await register(world, citizen_id=CITIZEN_ID)
    other, _ = await register(world, citizen_id="024090009999")
    async with MemoryUnitOfWork(state) as uow:
        with pytest.raises(RuleViolation, match="different citizen ids"):
            await registry.merge(uow, DISTRICT, one, other, date(2024, 4, 1))
        with pytest.raises(Forbidden, match="may not merge"):
            await registry.merge(uow, FACILITY, one, other, date(2024, 4, 1))
    assert len(state.streams[one]) == len(state.streams[other]) == 1


async def test_a_step_decided_on_a_stale_version_is_a_concurrency_error_and_keeps_nothing(world: World) -> None:
    registry, state, _ = world
    person_id, _ = await register(world)
    first, second = MemoryUnitOfWork(state), MemoryUnitOfWork(state)
    async with first, second:  # both read the person at version 1
        death = DeathIn(died_on=date(2024, 6, 1))
        await registry.run(first, DISTRICT, person_id, steps.RECORD_DEATH, death)
        body = DeterminationIn(result="addicted", determined_on=date(2024, 3, 5), facility="BV", form_number="01/XN")
        await registry.run(second, FACILITY, person_id, steps.DETERMINE, body)
        await first.commit()
        with pytest.raises(ConcurrencyError) as stale:
            await second.commit()
    assert failure_status(stale.value) == 409
    assert [e.event_type for e in state.streams[person_id]] == ["person_registered", "person_died"]
    assert audit_actions(state) == ["register", "record_death"]
