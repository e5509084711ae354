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
from shared.vn.units import REFORM_DATE, AdminUnits


def _nothing(body: Any) -> dict[str, object]:
    return {}


@dataclass(frozen=True)
class Step:
    """A command on an existing person: `action` is authorized, then `decide` runs; `detail` goes in its audit row.

    `legal_date` is the date the body records the fact for: an account of an abolished unit may record nothing
    dated on or after its abolition (shared.runtime.auth.refuse_if_abolished), checked before the person is loaded.
    """

    action: Action
    decide: Callable[[Person, Any, AdminUnits, date], list[PendingEvent]]
    legal_date: Callable[[Any], date]
    detail: Callable[[Any], dict[str, object]] = field(default=_nothing)


def _move(person: Person, body: Any, units: AdminUnits, on: date) -> list[PendingEvent]:
    check_commune(units, body.commune_code, body.moved_on)
    return person.change_residence(body.commune_code, body.moved_on, on)


def candidates(person: Person, units: AdminUnits) -> list[str]:
    """The communes a person may be assigned to: the successors of their old commune if it was split, else none."""
    recorded_on = person.commune_on or person.registered_on
    if recorded_on is None or recorded_on >= REFORM_DATE or not units.split(person.commune_code):
        return []
    return units.successors(person.commune_code)


def _assign(person: Person, body: Any, units: AdminUnits, on: date) -> list[PendingEvent]:
    check_commune(units, body.commune_code, body.decided_on)
    return person.assign_after_reorganisation(
        body.commune_code, candidates(person, units), body.decision_number, body.decided_on, on
    )


DETERMINE = Step(
    Action.DETERMINE,
    lambda p, b, units, on: p.determine_addiction(b.result, b.facility, b.form_number, b.determined_on, on),
    lambda b: b.determined_on,
    lambda b: {"result": b.result},
)
MOVE = Step(Action.MOVE, _move, lambda b: b.moved_on, lambda b: {"to_commune": b.commune_code})
RECORD_DEATH = Step(Action.RECORD_DEATH, lambda p, b, units, on: p.record_death(b.died_on, on), lambda b: b.died_on)
ASSIGN = Step(
    Action.ASSIGN,
    _assign,
    lambda b: b.decided_on,
    lambda b: {"to_commune": b.commune_code, "decision_number": b.decision_number},
)
