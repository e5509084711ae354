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
    """A command on an existing case: `action` is authorized (services/cases/policy.py), then `decide` runs.

    `unit` names the commune whose area the caller must be in: the case's own by default; for a move's notice the
    sending commune (its police owe it after the case has left), for the person's report the receiving one.
    """

    action: str
    decide: Callable[[Case, Any, RuleBook, date], list[PendingEvent]]
    unit: Callable[[Case, Any], str] | None = None

    def unit_of(self, case: Case, body: Any) -> str:
        return case.commune_code if self.unit is None else self.unit(case, body)


def _sending_commune(case: Case, body: Any) -> str:
    move = case.move(body.move)
    return case.commune_code if move is None else move.from_commune


def _receiving_commune(case: Case, body: Any) -> str:
    move = case.move(body.move)
    return case.commune_code if move is None else move.to_commune  # the case's, unless it has moved on since


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
DRUG_TEST = Step("drug_test", lambda c, b, rules, on: c.record_drug_test(b.tested_on, b.result, b.facility, on))
RULE_OUT_RELAPSE = Step("rule_out_relapse", lambda c, b, rules, on: c.rule_out_relapse(b.decided_on, b.reason, on))
MOVE_NOTICE = Step(
    "move_notice", lambda c, b, rules, on: c.notify_move(b.move, b.noticed_on, on), unit=_sending_commune
)
MOVE_REPORT = Step(
    "move_report", lambda c, b, rules, on: c.report_move(b.move, b.reported_on, on), unit=_receiving_commune
)
ORDER_MONITORING = Step(
    "order_monitoring",
    lambda c, b, rules, on: c.order_monitoring(b.ordered_on, b.starts_on, b.ends_on, rules, on),
)
END_MONITORING = Step("end_monitoring", lambda c, b, rules, on: c.end_monitoring(b.ended_on, on))
