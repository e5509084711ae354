"""Request bodies of the quotas API; the same models check imported rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.quotas.domain.events import INDICATORS, QUOTA_MODALITIES, Target
from shared.vn.text import Reference


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator: str
    comparison: str = ">="
    value: float = Field(ge=0, le=1_000_000_000, allow_inf_nan=False)

    @field_validator("indicator")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in INDICATORS:
            raise ValueError(f"unknown indicator {value!r}; known: {', '.join(INDICATORS)}")
        return value

    @field_validator("comparison")
    @classmethod
    def _comparison(cls, value: str) -> str:
        if value not in (">=", ">", "==", "<=", "<"):
            raise ValueError("comparison must be one of >=, >, ==, <=, <")
        return value

    def target(self) -> Target:
        return Target.model_validate(self.model_dump())


class PlanIn(BaseModel):
    """A plan (or a revision of it) as issued by a document."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    quotas: dict[str, int] = Field(default_factory=dict)
    targets: list[TargetIn] = Field(default_factory=list)
    document_number: Reference = Field(min_length=1, max_length=120)  # published with the plan: a reference
    document_date: date | None = None

    @field_validator("quotas")
    @classmethod
    def _quotas(cls, value: dict[str, Any]) -> dict[str, int]:
        for modality, count in value.items():
            if modality not in QUOTA_MODALITIES:
                raise ValueError(f"unknown modality {modality!r}; use {', '.join(QUOTA_MODALITIES)}")
            if count < 0:
                raise ValueError(f"the {modality} quota is negative ({count}); quotas are 0 or more")
            if count > 1_000_000:
                raise ValueError(f"the {modality} quota ({count}) is not a plausible number of places")
        return value
