"""The law's rule sets as data (`data/rulesets.json`): loaded, validated and picked by date, never interpreted.

Each service that applies a rule validates the fields it reads into its own model; the numbers live only in the
JSON file, so a new law is a new entry there and every service follows it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

RULES_FILE = Path(__file__).parent / "data" / "rulesets.json"


class Versioned(BaseModel):
    """One version of a rule set, in force from `valid_from` until the next version."""

    model_config = ConfigDict(frozen=True)

    valid_from: date


V = TypeVar("V", bound=Versioned)


def raw_rulesets(path: Path = RULES_FILE) -> list[dict[str, Any]]:
    """The entries of the rule-set file, as written."""
    entries = json.loads(path.read_text(encoding="utf-8"))["rulesets"]
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: 'rulesets' must be a non-empty list")
    return entries


def load_versions(model: type[V], path: Path = RULES_FILE) -> list[V]:
    """Every entry validated as `model` (extra fields ignored), oldest first."""
    return sorted((model.model_validate(entry) for entry in raw_rulesets(path)), key=lambda v: v.valid_from)


def in_force(versions: Sequence[V], on: date) -> V:
    """The version in force on `on` (the earliest one for dates before any of them)."""
    current = versions[0]
    for version in versions:
        if version.valid_from <= on:
            current = version
    return current
