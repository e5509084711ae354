"""One pure function folds any event into the facts of its stream; the live path and the rebuild both use it.

A stream's facts are one row (person, case or plan) plus its child rows (residences, case units,
abscondments, planned ends). An event whose version the row already has is a duplicate and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.kernel.events import Envelope, UnknownEventError
from shared.vn.rulebook import planned_end

REGISTRY = {
    "person_registered",
    "addiction_determined",
    "residence_changed",
    "person_assigned_after_reorganisation",  # a split commune's person assigned to a successor: folded as a move
    "records_merged",
    "person_died",
}
CASES = {
    "case_enrolled",
    "case_absconded",
    "case_returned",
    "case_dropped_out",
    "case_terminated",
    "case_completed",
    "post_rehab_started",
    "post_rehab_ended",
    "relapse_recorded",
    "case_transferred",
}
# The duties of issue 16 item 7 (drug tests, move notices and reports, electronic monitoring) change no report
# yet: they are read, so that none is dead-lettered, and fold to nothing but the stream's version.
DUTIES = {
    "drug_test_recorded",
    "relapse_ruled_out",
    "move_notice_sent",
    "move_reported",
    "electronic_monitoring_ordered",
    "electronic_monitoring_ended",
}
CASES |= DUTIES
PLANS = {"plan_issued", "plan_revised"}
CLOSING = {
    "case_dropped_out": "dropped_out",
    "case_terminated": "terminated",
    "relapse_recorded": "relapsed",
    "post_rehab_ended": "post_rehab_ended",
}
SOURCE = {**dict.fromkeys(REGISTRY, "registry"), **dict.fromkeys(CASES, "cases"), **dict.fromkeys(PLANS, "quotas")}
# The newest schema version read per type. The v2 events lost only typed text (kept in their service as notes),
# never a field folded here, and case_enrolled v3 only added the course number, so every version folds the same way.
READS = {
    **dict.fromkeys(SOURCE, 1),
    **dict.fromkeys(("addiction_determined", "case_dropped_out", "case_terminated", "post_rehab_started"), 2),
    "case_enrolled": 3,
}
KIND = {"registry": "person", "cases": "case", "quotas": "plan"}


@dataclass
class StreamFacts:
    """The facts of one stream: `kind` is person, case or plan."""

    kind: str
    row: dict[str, Any]
    children: list[dict[str, Any]] = field(default_factory=list)


def source_of(env: Envelope) -> str:
    """registry, cases or quotas. An event type reports do not know, or a newer version, is poison.

    Every event the three services publish changes some report, so a type this code has never heard of means
    a producer is ahead of reporting: the event goes to the dead-letter topic, to be replayed after an upgrade,
    rather than being dropped in silence.
    """
    source = SOURCE.get(env.event_type)
    if source is None:
        raise UnknownEventError(f"unknown event type {env.event_type!r}: reporting does not read it")
    if env.schema_version > READS[env.event_type]:
        raise UnknownEventError(
            f"{env.event_type} v{env.schema_version} is newer than reporting reads (v{READS[env.event_type]})"
        )
    return source


def empty(kind: str, stream_id: str) -> StreamFacts:
    if kind == "person":
        return StreamFacts(
            kind,
            {
                "person_id": stream_id,
                "version": 0,
                "registered_on": None,
                "sex": None,
                "birth_year": None,
                "status": None,
                "addict_on": None,
                "closed_on": None,
                "latest_commune": None,
                "latest_from": None,
            },
        )
    if kind == "case":
        return StreamFacts(
            kind,
            {
                "case_id": stream_id,
                "version": 0,
                "person_id": None,
                "modality": None,
                "started_on": None,
                "sex": None,
                "birth_year": None,
                "enrolled_commune": None,
                "planned_months": None,
                "completed_on": None,
                "post_rehab_decided_on": None,
                "post_rehab_ends_on": None,
                "closed_on": None,
                "closed_as": None,
                "latest_commune": None,
                "latest_from": None,
            },
        )
    _, year, unit = stream_id.split("-", 2)
    return StreamFacts(kind, {"year": int(year), "unit_code": unit, "version": 0, "quotas": {}, "targets": []})


def fold(facts: StreamFacts, env: Envelope) -> bool:
    """Apply `env` to `facts` in place; False for a duplicate (already applied) event."""
    if env.stream_version <= facts.row["version"]:
        return False
    facts.row["version"] = env.stream_version
    p, on, row = env.payload, env.occurred_on, facts.row
    if facts.kind == "person":
        _person(facts, env.event_type, env.stream_version, on, p)
    elif facts.kind == "case":
        _case(facts, env.event_type, env.stream_version, on, env.unit_code, p)
    else:
        row["quotas"], row["targets"] = p["quotas"], p["targets"]
    return True


def _person(facts: StreamFacts, kind: str, v: int, on: date, p: dict[str, Any]) -> None:
    row = facts.row
    if kind == "person_registered":
        row.update(
            registered_on=on,
            sex=p["sex"],
            birth_year=p["birth_year"],
            status=p["status"],
            addict_on=on if p["status"] == "addict" else None,
        )
        facts.children.append(
            {"person_id": row["person_id"], "version": v, "valid_from": on, "commune_code": p["commune_code"]}
        )
        _chain(facts, "residences")
    elif kind == "addiction_determined":
        row["status"] = p["status"]
        if p["result"] == "addicted" and row["addict_on"] is None:
            row["addict_on"] = on
    elif kind in ("residence_changed", "person_assigned_after_reorganisation"):
        facts.children.append(
            {"person_id": row["person_id"], "version": v, "valid_from": on, "commune_code": p["to_commune"]}
        )
        _chain(facts, "residences")
    elif kind == "person_died":
        row["closed_on"] = date.fromisoformat(p["died_on"]) if isinstance(p["died_on"], str) else p["died_on"]
    elif kind == "records_merged" and p.get("duplicate_id") == row["person_id"]:
        row["closed_on"] = on


def _case(facts: StreamFacts, kind: str, v: int, on: date, unit: str, p: dict[str, Any]) -> None:
    row, case_id = facts.row, facts.row["case_id"]
    if kind == "case_enrolled":
        started = date.fromisoformat(p["started_on"])
        row.update(
            person_id=p["person_id"],
            modality=p["modality"],
            started_on=started,
            sex=p.get("sex"),
            birth_year=p.get("birth_year"),
            enrolled_commune=unit,
            planned_months=p.get("planned_months"),
        )
        facts.children.append(
            {"table": "case_units", "case_id": case_id, "version": v, "valid_from": started, "commune_code": unit}
        )
        _chain(facts, "case_units")
        _planned_end(facts, v, started)
    elif kind == "case_transferred":
        facts.children.append(
            {"table": "case_units", "case_id": case_id, "version": v, "valid_from": on, "commune_code": p["to_commune"]}
        )
        _chain(facts, "case_units")
    elif kind == "case_absconded":
        facts.children.append(
            {"table": "abscondments", "case_id": case_id, "version": v, "absconded_on": on, "returned_on": None}
        )
    elif kind == "case_returned":
        for spell in facts.children:
            if spell["table"] == "abscondments" and spell["returned_on"] is None:
                spell["returned_on"] = on
        _planned_end(facts, v, on)
    elif kind == "case_completed":
        row["completed_on"] = on
    elif kind == "post_rehab_started":
        row["post_rehab_decided_on"] = date.fromisoformat(p["decided_on"])
        row["post_rehab_ends_on"] = date.fromisoformat(p["ends_on"])
    if kind in CLOSING:
        row["closed_on"], row["closed_as"] = on, CLOSING[kind]


def _planned_end(facts: StreamFacts, v: int, valid_from: date) -> None:
    """A planned-end row valid from `valid_from`: the course pushed back by every spell absconded that has ended.

    Written at enrolment and at each return, so a report as of a date reads the planned end valid then: a spell
    that ended later, or is still running, does not move it.
    """
    row = facts.row
    if row["started_on"] is None or row["planned_months"] is None:
        return
    away = sum(
        (c["returned_on"] - c["absconded_on"]).days
        for c in facts.children
        if c["table"] == "abscondments" and c["returned_on"] is not None
    )
    facts.children.append(
        {
            "table": "case_planned_ends",
            "case_id": row["case_id"],
            "version": v,
            "valid_from": valid_from,
            "planned_end": planned_end(row["started_on"], row["planned_months"], away),
        }
    )
    _chain(facts, "case_planned_ends")


def _chain(facts: StreamFacts, table: str) -> None:
    """Each dated row of `table` (residences, case_units, case_planned_ends) valid until the next one's
    `valid_from` (`valid_to`; None for the last), in the order a report picks the row valid on a day: by
    `valid_from`, then `version`. The row valid on a day d is then the one with valid_from <= d < valid_to
    (a row followed by one from the same day is valid on no day), which an index or a hash join finds without
    sorting each key's rows (indicators.py). The last one's unit (residences, case units) is also kept on the
    stream's row (`latest_commune`, `latest_from`): the unit valid on every day from its `valid_from` on."""
    rows = [c for c in facts.children if c.get("table", "residences") == table]
    if len(rows) > 1:  # most streams have one row: nothing to sort (a rebuild calls this for most events)
        rows.sort(key=lambda c: (c["valid_from"], c["version"]))
    for row, after in zip(rows, [*rows[1:], None], strict=True):
        row["valid_to"] = None if after is None else after["valid_from"]
    if "commune_code" in rows[-1]:
        facts.row["latest_commune"], facts.row["latest_from"] = rows[-1]["commune_code"], rows[-1]["valid_from"]
