"""Each step of a case as one declaration: the policy action it needs and the aggregate's decision it runs.

Authorization and behaviour live together here, so a route cannot check one action and run another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.cases.domain.case import Case
from services.cases.domain.rules import RuleBook
from shared.kernel.events import PendingEvent


@dataclass(frozen=True)
class Step:
    """A command on an existing case: `action` is authorized (services/cases/policy.py), then `decide` runs."""

    action: str
    decide: Callable[[Case, Any, RuleBook, date], list[PendingEvent]]


COMPLETE = Step("complete", lambda c, b, rules, on: c.complete(b.completed_on, b.certificate_number, rules, on))
ABSCOND = Step("abscond", lambda c, b, rules, on: c.abscond(b.absconded_on, on))
RETURN = Step("return", lambda c, b, rules, on: c.return_(b.returned_on, on))
DROP_OUT = Step("drop_out", lambda c, b, rules, on: c.drop_out(b.dropped_on, b.reason, on))
TERMINATE = Step("terminate", lambda c, b, rules, on: c.terminate(b.terminated_on, b.reason, on))
START_POST_REHAB = Step(
    "start_post_rehab",
    lambda c, b, rules, on: c.start_post_rehab(
        b.decision_number, b.decided_on, b.starts_on, b.months, b.mentor, rules, on
    ),
)
END_POST_REHAB = Step("end_post_rehab", lambda c, b, rules, on: c.end_post_rehab(b.ended_on, b.certificate_number, on))
RELAPSE = Step("relapse", lambda c, b, rules, on: c.record_relapse(b.detected_on, on))
