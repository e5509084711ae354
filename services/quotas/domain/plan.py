"""The Plan aggregate and the hierarchy rule: children's quotas of a modality never exceed their parent's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from services.quotas.domain.events import PlanIssued, PlanRevised, Target
from shared.kernel.events import Event, PendingEvent
from shared.kernel.rules import RuleViolation


def plan_stream(year: int, unit_code: str) -> str:
    return f"plan-{year}-{unit_code}"


@dataclass
class Plan:
    """The current version of one unit's plan for one year."""

    year: int
    unit_code: str
    version: int = 0
    revision: int = 0
    document_number: str = ""
    document_date: date | None = None
    quotas: dict[str, int] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)

    @classmethod
    def from_history(cls, year: int, unit_code: str, history: Iterable[Event]) -> Plan:
        plan = cls(year, unit_code)
        for event in history:
            plan.apply(event)
        return plan

    def apply(self, event: Event) -> None:
        self.version += 1
        match event:
            case PlanIssued():
                self.revision = 1
                self.document_number, self.document_date = event.document_number, event.document_date
                self.quotas, self.targets = dict(event.quotas), list(event.targets)
            case PlanRevised():
                self.revision = event.revision
                self.document_number, self.document_date = event.document_number, event.document_date
                self.quotas, self.targets = dict(event.quotas), list(event.targets)

    def set(
        self,
        quotas: Mapping[str, int],
        targets: list[Target],
        document_number: str,
        document_date: date | None,
        legal_date: date,
    ) -> list[PendingEvent]:
        """Issue the plan, or revise it; nothing when the document changes nothing (imports are idempotent)."""
        if self.version and dict(quotas) == self.quotas and targets == self.targets:
            return []
        event: Event
        if self.version == 0:
            event = PlanIssued(
                year=self.year,
                unit_code=self.unit_code,
                document_number=document_number,
                document_date=document_date,
                quotas=dict(quotas),
                targets=targets,
            )
        else:
            event = PlanRevised(
                revision=self.revision + 1,
                document_number=document_number,
                document_date=document_date,
                quotas=dict(quotas),
                targets=targets,
            )
        return [PendingEvent(event=event, occurred_on=legal_date, unit_code=self.unit_code)]


@dataclass(frozen=True)
class Allocation:
    """One child's quotas under a parent, with the unit's name for messages."""

    unit_code: str
    name: str
    quotas: Mapping[str, int]


def check_children_fit(
    parent_code: str, parent_name: str, parent_quotas: Mapping[str, int], children: list[Allocation]
) -> None:
    """Refuse when, for some modality, the children together hold more than the parent's quota."""
    for modality, limit in sorted(parent_quotas.items()):
        held = [(c, c.quotas.get(modality, 0)) for c in children if c.quotas.get(modality, 0)]
        total = sum(n for _, n in held)
        if total > limit:
            detail = ", ".join(f"{c.name} ({c.unit_code}) {n}" for c, n in held)
            raise RuleViolation(
                "quota_exceeded",
                f"the units under {parent_name} ({parent_code}) would hold {total} {modality} places"
                f" ({detail}) but its quota is {limit}",
                f"các đơn vị thuộc {parent_name} ({parent_code}) sẽ có tổng {total} chỉ tiêu {modality}"
                f" ({detail}) trong khi chỉ tiêu của {parent_name} là {limit}",
                parent=parent_code,
                modality=modality,
                quota=limit,
                allocated=total,
            )
