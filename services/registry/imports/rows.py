"""Checking one imported row: the API's validation, the caller's area, the registration rule, the dedupe keys.

Pure CPU work with no database, run on the parsing threads a chunk at a time. A refusal never quotes what the
row holds: the report is stored, and a name or a citizen id in it would be clear text at rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from services.registry.commands import Registry
from services.registry.communes import check_commune
from services.registry.domain.person import Person
from services.registry.imports.parse import RawRow
from services.registry.schemas import NewPerson
from shared.kernel.clock import today
from shared.kernel.events import PendingEvent
from shared.kernel.rules import RuleViolation
from shared.runtime.auth import Principal, sees
from shared.vn.units import REFORM_DATE, fold

_IDENTIFYING = ("full_name", "citizen_id", "date_of_birth", "village")
ON_RECORD_ELSEWHERE = (
    "already on record outside your area: ask the province to transfer the record"
    " (đã có hồ sơ ngoài địa bàn của bạn: đề nghị cấp tỉnh chuyển hồ sơ)"
)


@dataclass(frozen=True)
class Checked:
    """A row that passed validation, with the event it will produce and its dedupe keys."""

    raw: RawRow
    person: NewPerson
    pending: PendingEvent
    row_key: str
    citizen_key: str | None


def check_chunk(
    registry: Registry, rows: list[RawRow], who: Principal, recorded_on: date, source: str
) -> tuple[list[Checked], list[dict[str, Any]]]:
    """The rows that pass, and a report entry {row, errors} for each that does not."""
    valid: list[Checked] = []
    rejected: list[dict[str, Any]] = []
    for raw in rows:
        checked, errors = check_row(registry, raw, who, recorded_on, source)
        if checked is None:
            rejected.append({"row": raw.number, "errors": redacted(errors, raw)})
        else:
            valid.append(checked)
    return valid, rejected


def check_row(
    registry: Registry, raw: RawRow, who: Principal, recorded_on: date, source: str
) -> tuple[Checked | None, dict[str, str]]:
    values = {"recorded_on": recorded_on, "source": source, **raw.values}
    try:
        person = NewPerson.model_validate(values)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "row"
            errors.setdefault(name, str(err["msg"]).removeprefix("Value error, "))
        return None, errors
    try:
        if not registry.units.is_current(who.unit) and person.recorded_on >= REFORM_DATE:
            successors = ", ".join(u.code for u in registry.units.successor_units(who.unit))
            raise RuleViolation(
                "unit_abolished",
                f"unit {who.unit} was abolished on 2025-07-01: nothing dated {person.recorded_on} may be recorded "
                f"under it; its successors are {successors}",
                f"đơn vị {who.unit} không còn từ 01/07/2025; hãy dùng tài khoản của đơn vị kế thừa: {successors}",
                kind="forbidden",
                field="recorded_on",
            )
        check_commune(registry.units, person.commune_code, person.recorded_on)
        if not sees(who, registry.units, person.commune_code, person.recorded_on):
            raise RuleViolation(
                "outside_area",
                f"commune {person.commune_code} is outside your area ({who.unit})",
                f"xã {person.commune_code} nằm ngoài địa bàn của bạn ({who.unit})",
                kind="forbidden",
                field="commune_code",
            )
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
    vault = registry.vault
    return Checked(raw, person, pending, row_key(vault.blind, person), vault.citizen_key(person.citizen_id)), {}


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
