"""Request and response bodies of the registry API; the same models validate imported rows."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.registry.domain.events import DeterminationResult, Sex, Source, Status
from shared.kernel.clock import today
from shared.kernel.events import HistoryEntry
from shared.vn.text import FreeText, Reference, free_text, normalise

EARLIEST_BIRTH = date(1900, 1, 1)
_CITIZEN_ID = re.compile(r"[0-9]{12}")
_COMMUNE = re.compile(r"[0-9]{5}")
_FORMULA_START = ("=", "+", "-", "@")  # what a spreadsheet runs as a formula when a cell begins with it


def normalise_citizen_id(value: str | None) -> str | None:
    """The 12 ASCII digits of a citizen id as typed (full-width digits, spaces, dots, dashes allowed), or None.

    The one form every lookup sees: the vault's blind index of '０２４…' and of '024 …' is that of '024…'.
    """
    if value is None:
        return None
    digits = re.sub(r"[\s.\-]", "", unicodedata.normalize("NFKC", value))
    return digits if _CITIZEN_ID.fullmatch(digits) else None


def _name(value: str) -> str:
    value = normalise(value)
    if not value:
        raise ValueError("full_name is required (Họ và tên không được để trống)")
    if any(ch.isdigit() for ch in value):
        raise ValueError("full_name must not contain digits (Họ và tên không được chứa chữ số)")
    if value.startswith(_FORMULA_START):
        raise ValueError(
            "full_name must not begin with =, +, - or @ (Họ và tên không được bắt đầu bằng =, +, - hoặc @)"
        )
    if len(value) > 120:
        raise ValueError("full_name is longer than 120 characters")
    return value


def _citizen_id(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    normalised = normalise_citizen_id(value)
    if normalised is None:
        raise ValueError("citizen_id must be exactly 12 digits 0-9 (Số CCCD gồm đúng 12 chữ số 0-9)")
    return normalised


def _village(value: str | None) -> str | None:
    return free_text(value) or None if value else None


def _commune(value: str) -> str:
    value = unicodedata.normalize("NFKC", value).strip()
    if not _COMMUNE.fullmatch(value):
        raise ValueError("commune_code must be a 5-digit GSO commune code (Mã xã gồm 5 chữ số)")
    return value


def _not_future(value: date) -> date:
    if value > today():
        raise ValueError("date is in the future (ngày trong tương lai)")
    return value


def _birth(value: date) -> date:
    if value < EARLIEST_BIRTH:
        raise ValueError("date_of_birth is before 1900 (Ngày sinh trước năm 1900)")
    return _not_future(value)


FullName = Annotated[str, AfterValidator(_name)]
CommuneCode = Annotated[str, AfterValidator(_commune)]
PastDate = Annotated[date, AfterValidator(_not_future)]
Village = Annotated[str | None, AfterValidator(_village)]


class NewPerson(BaseModel):
    """A person to put on record."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    full_name: FullName
    date_of_birth: Annotated[date, AfterValidator(_birth)]
    sex: Sex
    citizen_id: Annotated[str | None, AfterValidator(_citizen_id)] = None
    commune_code: CommuneCode
    village: Village = Field(default=None, max_length=200)
    status: Status
    source: Source = "police_review"
    recorded_on: PastDate = Field(default_factory=today)


class DeterminationIn(BaseModel):
    """A determination: the facility's name stays in the registry, the form number is a document reference."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    result: DeterminationResult
    determined_on: PastDate
    facility: FreeText = Field(min_length=1, max_length=200)
    form_number: Reference = Field(min_length=1, max_length=60)


class ResidenceChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    commune_code: CommuneCode
    village: Village = Field(default=None, max_length=200)
    moved_on: PastDate


class AssignmentIn(BaseModel):
    """The decision that assigns a person of a commune split on 2025-07-01 to one of its successor communes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    commune_code: CommuneCode
    decided_on: PastDate
    decision_number: Reference = Field(min_length=1, max_length=60)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duplicate_id: UUID
    merged_on: PastDate = Field(default_factory=today)


class DeathIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    died_on: PastDate


class DeterminationOut(BaseModel):
    result: DeterminationResult
    determined_on: date
    facility: str
    form_number: str


class PersonOut(BaseModel):
    """A person's file as officials see it."""

    person_id: str
    version: int
    full_name: str
    date_of_birth: date
    sex: Sex
    citizen_id: str | None
    commune_code: str
    village: str | None
    status: Status
    source: Source
    registered_on: date
    merged_into: str | None = None
    died_on: date | None = None
    determinations: list[DeterminationOut] = []
    likely_duplicates: list[str] = []
    history: list[HistoryEntry] = []  # every event of the record, on one file (GET /persons/{id})
    actions: list[str] = []  # what the caller may record on this file now (services/registry/policy.py)


class Candidate(BaseModel):
    commune_code: str
    name: str


class PendingAssignment(BaseModel):
    """A person whose old commune was split: managed by the province until a decision assigns a commune."""

    person_id: str
    version: int
    commune_code: str  # the old commune, as recorded
    commune_name: str  # its name at the time
    recorded_on: date  # when that commune was recorded
    unit_now: str  # the province that holds the person until the decision
    status: Status
    candidates: list[Candidate]


class PendingPage(BaseModel):
    items: list[PendingAssignment]
    page: int
    page_size: int
    total: int


class PersonPage(BaseModel):
    items: list[PersonOut]
    page: int
    page_size: int
    total: int
