"""Schema v2 of the events that carried typed text: v1 still decodes, and the read model still shows the text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from services.cases.domain.case import Case, PersonFacts
from services.cases.domain.events import CASE_EVENTS, CaseDroppedOut, CaseTerminated, PostRehabStarted
from services.cases.domain.rules import rulebook
from services.cases.projection import case_row
from services.registry.domain.events import REGISTRY_EVENTS, AddictionDetermined
from services.reporting.fold import source_of
from shared.kernel.events import SYSTEM_ACTOR, CommandContext, Envelope, UnknownEventError, seal
from shared.kernel.ids import uuid7

TODAY = date(2027, 12, 31)
V1 = {
    "case_enrolled": {
        "person_id": "p1",
        "modality": "compulsory",
        "decision_number": "QD-1",
        "decided_on": "2024-01-10",
        "started_on": "2024-01-10",
        "planned_months": 12,
        "facility": "CSCN Bắc Giang",
        "court_decision_number": "TA-1",
        "sex": "male",
        "birth_year": 1990,
    },
    "case_completed": {"certificate_number": "GCN-1", "served_days": 400},
    "post_rehab_started": {
        "decision_number": "QD-2",
        "decided_on": "2025-02-20",
        "starts_on": "2025-02-20",
        "months": 24,
        "ends_on": "2027-02-20",
        "mentor": "Nguyễn Văn Bình",
        "days_waited": 5,
    },
}


def v1(event_type: str, version: int, payload: dict[str, Any], on: str = "2024-01-10") -> Envelope:
    return Envelope(
        event_id=uuid7(),
        event_type=event_type,
        schema_version=1,
        stream_id="c1",
        stream_version=version,
        occurred_on=date.fromisoformat(on),
        recorded_at=datetime.now(UTC),
        actor=SYSTEM_ACTOR,
        unit_code="07616",
        correlation_id="x",
        payload=payload,
    )


def test_v1_events_decode_without_their_text() -> None:
    post = CASE_EVENTS.decode(v1("post_rehab_started", 3, V1["post_rehab_started"]))
    assert isinstance(post, PostRehabStarted) and post.mentor_named is True
    assert "mentor" not in post.model_dump()
    dropped = CASE_EVENTS.decode(v1("case_dropped_out", 2, {"reason": ""}))
    assert isinstance(dropped, CaseDroppedOut) and dropped.reason_given is False
    died = CASE_EVENTS.decode(v1("case_terminated", 2, {"reason": "person died (recorded in the registry)"}))
    by_decision = CASE_EVENTS.decode(v1("case_terminated", 2, {"reason": "chuyển trại giam"}))
    assert isinstance(died, CaseTerminated) and isinstance(by_decision, CaseTerminated)
    assert (died.cause, by_decision.cause) == ("death", "decision")
    assert "facility" not in CASE_EVENTS.decode(v1("case_enrolled", 1, V1["case_enrolled"])).model_dump()
    determined = {"result": "addicted", "facility": "TTYT", "form_number": "1", "status": "addict"}
    decoded = REGISTRY_EVENTS.decode(v1("addiction_determined", 2, determined))
    assert isinstance(decoded, AddictionDetermined) and decoded.model_dump() == {
        "result": "addicted",
        "form_number": "1",
        "status": "addict",
    }


def test_a_v1_history_still_shows_its_text_in_the_read_model() -> None:
    history = [
        v1("case_enrolled", 1, V1["case_enrolled"]),
        v1("case_completed", 2, V1["case_completed"], "2025-02-15"),
        v1("post_rehab_started", 3, V1["post_rehab_started"], "2025-02-20"),
    ]
    row = case_row("c1", history, {})
    assert (row["facility"], row["mentor"], row["state"]) == ("CSCN Bắc Giang", "Nguyễn Văn Bình", "post_rehab")


def test_v2_events_carry_no_text_and_the_read_model_takes_it_from_the_notes() -> None:
    person = PersonFacts("p1", "07616", "addict", "male", 1990)
    rules = rulebook()
    pending = Case.enroll(
        person,
        "p1",
        "voluntary_facility",
        "QD-1",
        date(2024, 1, 10),
        date(2024, 1, 10),
        6,
        "CS Bắc Giang",
        None,
        rules,
        TODAY,
    )
    case = Case.from_history("c1", [(p.event, p.occurred_on, p.unit_code) for p in pending])
    pending += case.drop_out(date(2024, 3, 1), "Nguyễn Văn Bình đưa về", TODAY)
    ctx = CommandContext(actor=SYSTEM_ACTOR)
    sealed = [seal(p, "c1", i + 1, ctx) for i, p in enumerate(pending)]
    assert [e.schema_version for e in sealed] == [3, 2]  # case_enrolled v3 (course number), case_dropped_out v2
    published = b"".join(e.to_json() for e in sealed)
    assert "Bình".encode() not in published and b"CS B" not in published
    assert sealed[1].payload == {"reason_given": True}
    notes: dict[UUID, dict[str, str]] = {e.event_id: p.notes for e, p in zip(sealed, pending, strict=True)}
    row = case_row("c1", sealed, notes)
    assert (row["facility"], row["close_reason"], row["state"]) == (
        "CS Bắc Giang",
        "Nguyễn Văn Bình đưa về",
        "dropped_out",
    )


@pytest.mark.parametrize(
    ("event_type", "newest"),
    [
        ("addiction_determined", 2),
        ("case_enrolled", 3),
        ("case_dropped_out", 2),
        ("case_terminated", 2),
        ("post_rehab_started", 2),
    ],
)
def test_reporting_reads_every_version_of_the_changed_events_and_no_later_one(event_type: str, newest: int) -> None:
    for version in range(1, newest + 1):
        env = v1(event_type, 1, {}).model_copy(update={"schema_version": version})
        assert source_of(env) in ("registry", "cases")
    with pytest.raises(UnknownEventError, match=f"newer than reporting reads \\(v{newest}\\)"):
        source_of(v1(event_type, 1, {}).model_copy(update={"schema_version": newest + 1}))
