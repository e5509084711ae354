"""Request and response bodies of the registry API; the same models validate imported rows."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from services.registry.domain.events import DeterminationResult, Sex, Source, Status
from shared.clock import today

EARLIEST_BIRTH = date(1900, 1, 1)
_CITIZEN_ID = re.compile(r"^\d{12}$")
_COMMUNE = re.compile(r"^\d{5}$")


def _clean_text(value: str) -> str:
    """Runs of whitespace as one space; a control character (a NUL, say) is refused, never stored."""
    if any(unicodedata.category(ch) == "Cc" and not ch.isspace() for ch in value):
        raise ValueError("must not contain control characters (không được chứa ký tự điều khiển)")
    return " ".join(value.split())


def _name(value: str) -> str:
    value = _clean_text(value)
    if not value:
        raise ValueError("full_name is required (Họ và tên không được để trống)")
    if any(ch.isdigit() for ch in value):
        raise ValueError("full_name must not contain digits (Họ và tên không được chứa chữ số)")
    if len(value) > 120:
        raise ValueError("full_name is longer than 120 characters")
    return value


def _citizen_id(value: str | None) -> str | None:
    if value is None:
        return None
    value = re.sub(r"[\s.-]", "", value)
    if not value:
        return None
    if not _CITIZEN_ID.match(value):
        raise ValueError("citizen_id must be exactly 12 digits (Số CCCD gồm đúng 12 chữ số)")
    return value


def _commune(value: str) -> str:
    value = value.strip()
    if not _COMMUNE.match(value):
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


class NewPerson(BaseModel):
    """A person to put on record."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    full_name: FullName
    date_of_birth: Annotated[date, AfterValidator(_birth)]
    sex: Sex
    citizen_id: Annotated[str | None, AfterValidator(_citizen_id)] = None
    commune_code: CommuneCode
    village: str | None = Field(default=None, max_length=200)
    status: Status
    source: Source = "police_review"
    recorded_on: PastDate = Field(default_factory=today)

    @field_validator("village")
    @classmethod
    def _village(cls, value: str | None) -> str | None:
        return _clean_text(value) or None if value else None


class DeterminationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    result: DeterminationResult
    determined_on: PastDate
    facility: str = Field(min_length=1, max_length=200)
    form_number: str = Field(min_length=1, max_length=60)


class ResidenceChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    commune_code: CommuneCode
    village: str | None = Field(default=None, max_length=200)
    moved_on: PastDate


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


class PersonPage(BaseModel):
    items: list[PersonOut]
    page: int
    page_size: int
    total: int
