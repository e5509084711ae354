"""The Person aggregate's rules, without I/O."""

from __future__ import annotations

from datetime import date

import pytest

from services.registry.domain.events import AddictionDetermined, PersonRegistered, RecordsMerged, ResidenceChanged
from services.registry.domain.person import Person
from shared.kernel.rules import RuleViolation

TODAY = date(2024, 6, 30)


def registered(person_id: str = "p1", commune: str = "07616", on: date = date(2024, 3, 1)) -> Person:
    pending = Person.register(commune, "user", "police_review", "male", date(1990, 1, 1), on, TODAY)
    return Person.from_history(person_id, [(p.event, p.occurred_on) for p in pending])


def test_registration_records_birth_year_not_birth_date() -> None:
    [pending] = Person.register("07616", "user", "self_report", "female", date(1990, 5, 17), date(2024, 3, 1), TODAY)
    assert isinstance(pending.event, PersonRegistered)
    assert pending.event.birth_year == 1990 and pending.unit_code == "07616" and pending.occurred_on == date(2024, 3, 1)
    assert "date_of_birth" not in pending.event.model_dump()


@pytest.mark.parametrize(
    ("born", "recorded", "field"),
    [
        (date(1990, 1, 1), date(2024, 7, 1), "recorded_on"),
        (date(2025, 1, 1), date(2024, 3, 1), "date_of_birth"),
        (date(2024, 5, 1), date(2024, 3, 1), "date_of_birth"),
    ],
)
def test_registration_refuses_impossible_dates(born: date, recorded: date, field: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        Person.register("07616", "user", "police_review", "male", born, recorded, TODAY)
    assert refused.value.kind == "invalid" and refused.value.field == field


def test_an_addicted_determination_makes_the_person_an_addict() -> None:
    person = registered()
    [pending] = person.determine_addiction("addicted", "TTYT Sơn Động", "PKQ-1", date(2024, 3, 5), TODAY)
    assert isinstance(pending.event, AddictionDetermined) and pending.event.status == "addict"
    person.apply(pending.event, pending.occurred_on)
    assert person.status == "addict" and person.version == 2


def test_a_move_goes_to_the_new_commune_and_refuses_the_same_one_or_an_earlier_date() -> None:
    person = registered()
    [pending] = person.change_residence("07660", date(2024, 5, 1), TODAY)
    assert isinstance(pending.event, ResidenceChanged) and pending.unit_code == "07660"
    with pytest.raises(RuleViolation, match="already lives"):
        person.change_residence("07616", date(2024, 5, 1), TODAY)
    with pytest.raises(RuleViolation, match="before the person was put on record"):
        person.change_residence("07660", date(2024, 1, 1), TODAY)


def test_merge_closes_the_duplicate_and_refuses_later_changes() -> None:
    survivor, duplicate = registered("a"), registered("b")
    for_survivor, for_duplicate = survivor.merge(duplicate, date(2024, 4, 1))
    assert isinstance(for_duplicate[0].event, RecordsMerged) and for_survivor[0].event == for_duplicate[0].event
    duplicate.apply(for_duplicate[0].event, date(2024, 4, 1))
    survivor.apply(for_survivor[0].event, date(2024, 4, 1))
    assert duplicate.merged_into == "a" and survivor.is_open
    with pytest.raises(RuleViolation) as refused:
        duplicate.determine_addiction("addicted", "x", "1", date(2024, 5, 1), TODAY)
    assert refused.value.code == "record_merged" and "hồ sơ" in refused.value.message_vi
    with pytest.raises(RuleViolation, match="itself"):
        survivor.merge(survivor, date(2024, 4, 1))


def test_a_deceased_person_cannot_be_moved() -> None:
    person = registered()
    [died] = person.record_death(date(2024, 4, 1), TODAY)
    person.apply(died.event, died.occurred_on)
    with pytest.raises(RuleViolation) as refused:
        person.change_residence("07660", date(2024, 5, 1), TODAY)
    assert refused.value.code == "person_deceased"


def test_a_split_communes_person_is_assigned_to_one_of_its_successors_after_the_reform() -> None:
    person = registered(commune="00007")
    assert person.commune_on == date(2024, 3, 1)
    today, candidates = date(2025, 12, 1), ["00008", "00025"]
    [pending] = person.assign_after_reorganisation("00025", candidates, "QD-1", date(2025, 9, 1), today)
    assert pending.event.model_dump() == {"from_commune": "00007", "to_commune": "00025", "decision_number": "QD-1"}
    assert pending.unit_code == "00025" and pending.occurred_on == date(2025, 9, 1)
    person.apply(pending.event, pending.occurred_on)
    assert (person.commune_code, person.commune_on) == ("00025", date(2025, 9, 1))
    for commune, found, on, code in [
        ("00097", candidates, date(2025, 9, 1), "not_a_successor"),
        ("00025", candidates, date(2025, 6, 30), "decided_before_reorganisation"),
        ("00025", [], date(2025, 9, 1), "not_awaiting_assignment"),
    ]:
        with pytest.raises(RuleViolation) as refused:
            registered(commune="00007").assign_after_reorganisation(commune, found, "QD-1", on, today)
        assert refused.value.code == code
