"""Checking one imported row: the API's validation, the caller's area, the registration rule, the dedupe keys.

Pure CPU work with no database, run a chunk at a time in one of the service's worker processes, which also makes
what a new person of each valid row would be (the registration sealed under a fresh id, the identity sealed by
the vault): the service's own process is left the database and Kafka, and both cores work. A refusal never
quotes what the row holds: the report is stored, and a name or a citizen id in it would be clear text at rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from services.registry.communes import check_commune
from services.registry.domain.person import Person
from services.registry.imports.parse import RawRow
from services.registry.schemas import NewPerson
from services.registry.vault import Identity, Vault
from shared.kernel.clock import today
from shared.kernel.events import CommandContext, Envelope, PendingEvent, seal
from shared.kernel.ids import uuid7
from shared.kernel.rules import RuleViolation
from shared.runtime.auth import Principal, sees
from shared.vn.units import REFORM_DATE, AdminUnits, admin_units, fold

_IDENTIFYING = ("full_name", "citizen_id", "date_of_birth", "village")
ON_RECORD_ELSEWHERE = (
    "already on record outside your area: ask the province to transfer the record"
    " (đã có hồ sơ ngoài địa bàn của bạn: đề nghị cấp tỉnh chuyển hồ sơ)"
)


@dataclass(frozen=True)
class Checked:
    """A row that passed the checks: its dedupe keys, where and when it is recorded, and what a new person of it
    is (its registration, sealed under a fresh person id, and its identity row), used only if it is new."""

    number: int  # the row in the official's spreadsheet
    row_key: str
    citizen_key: str | None
    commune_code: str
    recorded_on: date
    event: Envelope
    identity: dict[str, object]

    @property
    def person_id(self) -> str:
        return self.event.stream_id


def check_chunk(
    vault: Vault, rows: list[RawRow], who: Principal, recorded_on: date, source: str, ctx: CommandContext
) -> tuple[list[Checked], list[dict[str, Any]]]:
    """The rows that pass, and a report entry {row, errors} for each that does not (in a worker process).

    The units are the catalogue every part of the service reads (`admin_units`), loaded once per process.
    """
    units = admin_units()
    valid: list[Checked] = []
    rejected: list[dict[str, Any]] = []
    places: dict[tuple[str, date], RuleViolation | None] = {}
    for raw in rows:
        checked, errors = check_row(units, raw, who, recorded_on, source, places)
        if checked is None:
            rejected.append({"row": raw.number, "errors": redacted(errors, raw)})
            continue
        person, pending = checked
        person_id = str(uuid7())
        identity = Identity(
            full_name=person.full_name,
            date_of_birth=person.date_of_birth,
            citizen_id=person.citizen_id,
            village=person.village,
        )
        valid.append(
            Checked(
                raw.number,
                row_key(vault.blind, person),
                vault.citizen_key(person.citizen_id),
                person.commune_code,
                person.recorded_on,
                seal(pending, person_id, 1, ctx),
                vault.identity_row(person_id, identity, person.commune_code),
            )
        )
    return valid, rejected


def check_row(
    units: AdminUnits,
    raw: RawRow,
    who: Principal,
    recorded_on: date,
    source: str,
    places: dict[tuple[str, date], RuleViolation | None],
) -> tuple[tuple[NewPerson, PendingEvent] | None, dict[str, str]]:
    """One row through the API's checks; `places` keeps the verdict on each (commune, date) the chunk met."""
    values = {"recorded_on": recorded_on, "source": source, **raw.values}
    try:
        person = NewPerson.model_validate(values)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "row"
            errors.setdefault(name, str(err["msg"]).removeprefix("Value error, "))
        return None, errors
    place = (person.commune_code, person.recorded_on)
    if place not in places:  # a list names a few communes: each is checked once, not once per row
        places[place] = refusal_of_place(units, who, *place)
    refusal = places[place]
    if refusal is not None:
        return None, {refusal.field or "row": refusal.message}
    try:
        [pending] = Person.register(
            person.commune_code,
            person.status,
            person.source,
            person.sex,
            person.date_of_birth,
            person.recorded_on,
            today(),
        )
    except RuleViolation as exc:
        return None, {exc.field or "row": exc.message}
    return (person, pending), {}


def refusal_of_place(units: AdminUnits, who: Principal, commune_code: str, recorded_on: date) -> RuleViolation | None:
    """Why `who` may not record a person in `commune_code` on `recorded_on` (None: they may)."""
    if not units.is_current(who.unit) and recorded_on >= REFORM_DATE:
        successors = ", ".join(u.code for u in units.successor_units(who.unit))
        return RuleViolation(
            "unit_abolished",
            f"unit {who.unit} was abolished on 2025-07-01: nothing dated {recorded_on} may be "
            f"recorded under it; its successors are {successors}",
            f"đơn vị {who.unit} không còn từ 01/07/2025; hãy dùng tài khoản của đơn vị kế thừa: {successors}",
            kind="forbidden",
            field="recorded_on",
        )
    try:
        check_commune(units, commune_code, recorded_on)
    except RuleViolation as exc:
        return exc
    if not sees(who, units, commune_code, recorded_on):
        return RuleViolation(
            "outside_area",
            f"commune {commune_code} is outside your area ({who.unit})",
            f"xã {commune_code} nằm ngoài địa bàn của bạn ({who.unit})",
            kind="forbidden",
            field="commune_code",
        )
    return None


def redacted(errors: dict[str, str], raw: RawRow) -> dict[str, str]:
    """`errors` with any identifying value of the row cut out, should a message ever quote its input."""
    secrets = {str(raw.values[f]) for f in _IDENTIFYING if raw.values.get(f) not in (None, "")}
    secrets = {s for s in secrets if len(s) >= 4}  # shorter ones ("Nam") are words of the messages themselves
    out: dict[str, str] = {}
    for name, message in errors.items():
        for secret in secrets:
            message = message.replace(secret, "…")
        out[name] = message
    return out


def row_key(blind: Any, p: NewPerson) -> str:
    """The blind key of a row's content: the same row imported again (same file or another) creates nothing."""
    return str(
        blind(
            "row",
            fold(p.full_name),
            p.date_of_birth.isoformat(),
            p.sex,
            p.citizen_id or "",
            p.commune_code,
            fold(p.village or ""),
            p.status,
        )
    )
