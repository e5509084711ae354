"""Each command on a person on record as one declaration: the policy action it needs and the decision it runs.

Authorization and behaviour live together here, so a route cannot check one action and run another. The
registry's policy is by role alone, so the action is checked before the person is even loaded: a role that may
not act answers 403 wherever the person is (the HTTP contract; services/registry/policy.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.registry.communes import check_commune
from services.registry.domain.person import Person
from services.registry.policy import Action
from shared.kernel.events import PendingEvent
from shared.vn.units import AdminUnits


def _nothing(body: Any) -> dict[str, object]:
    return {}


@dataclass(frozen=True)
class Step:
    """A command on an existing person: `action` is authorized, then `decide` runs; `detail` goes in its audit row."""

    action: Action
    decide: Callable[[Person, Any, AdminUnits, date], list[PendingEvent]]
    detail: Callable[[Any], dict[str, object]] = field(default=_nothing)


def _move(person: Person, body: Any, units: AdminUnits, on: date) -> list[PendingEvent]:
    check_commune(units, body.commune_code, body.moved_on)
    return person.change_residence(body.commune_code, body.moved_on, on)


DETERMINE = Step(
    Action.DETERMINE,
    lambda p, b, units, on: p.determine_addiction(b.result, b.facility, b.form_number, b.determined_on, on),
    lambda b: {"result": b.result},
)
MOVE = Step(Action.MOVE, _move, lambda b: {"to_commune": b.commune_code})
RECORD_DEATH = Step(Action.RECORD_DEATH, lambda p, b, units, on: p.record_death(b.died_on, on))
