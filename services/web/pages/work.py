"""Việc cần làm: everyone the user must act on, most urgent first, each with the button for the next step.

The lists are the cases service's deadlines and the registry's split-commune assignments; names come from the
registry, one audited read per person shown, for the roles the registry lets read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import WORK_COUNT_SECONDS, WORK_LISTS, Ctx, Page
from shared.kernel.clock import today
from shared.vn.workdays import working_days_between

router = APIRouter(include_in_schema=False)
MAX_NAMES = 200
# each list, the step that answers it and the field of its date (the cases service's lists: context.WORK_LISTS)
KINDS: dict[str, tuple[str, str | None]] = {
    "awaiting_post_rehab_decision": ("start_post_rehab", "due_on"),
    "move_notices_pending": ("move_notice", "due_on"),
    "move_reports_pending": ("move_report", "due_on"),
    "positive_test_during_post_rehab": ("relapse", None),
    "absconders_at_large": ("return", None),
    "planned_end_passed": ("complete", None),
    "post_rehab_ending": ("end_post_rehab", "ends_on"),
    "pending_assignment": ("assign", None),
}


@dataclass
class Item:
    kind: str
    person_id: str
    case_id: str | None
    commune_code: str
    action: str
    due_on: date | None
    working_days: int | None  # left (positive) or overdue (negative) when the item has a deadline
    days: int | None  # since it began, when it has none
    move: int | None = None
    name: str | None = None
    village: str | None = None

    @property
    def urgency(self) -> tuple[int, int]:
        if self.working_days is not None:
            return (0 if self.working_days < 0 else 1, self.working_days)
        return (0, -(self.days or 0) // 5)  # open-ended ones rank with the overdue, the longest first

    @property
    def href(self) -> str:
        if self.case_id is None:
            return f"/ho-so/{self.person_id}/{self.action}"
        suffix = f"?move={self.move}" if self.move else ""
        return f"/vu-viec/{self.case_id}/{self.action}{suffix}"


@router.get("/viec-can-lam")
async def work_list(ctx: Page, commune: str = "", kind: str = "") -> Response:
    items = await gather_items(ctx)
    communes = sorted({i.commune_code for i in items})
    shown = [i for i in items if (not commune or i.commune_code == commune) and (not kind or i.kind == kind)]
    await add_names(ctx, shown[:MAX_NAMES])
    ctx.session.remember("work_count", sum(i.kind in WORK_LISTS for i in items), WORK_COUNT_SECONDS)
    return await ctx.render(
        "work.html", items=shown, communes=communes, kinds=list(KINDS), commune=commune, kind=kind, total=len(items)
    )


async def gather_items(ctx: Ctx) -> list[Item]:
    """Every item of the user's lists, most urgent first."""
    on = today()
    lists = await ctx.get("cases", "/deadlines")
    items: list[Item] = []
    for kind, (action, field) in KINDS.items():
        for raw in lists.get(kind, []) if kind != "pending_assignment" else []:
            items.append(_item(kind, action, field, raw, on))
    if await ctx.may("registry", "read_pending_assignments"):
        pending = await ctx.get_or_none("registry", "/reorganisation/pending", page_size=200)
        for raw in (pending or {}).get("items", []):
            items.append(
                Item(
                    "pending_assignment",
                    raw["person_id"],
                    None,
                    raw["commune_code"],
                    "assign",
                    None,
                    None,
                    (on - date.fromisoformat(raw["recorded_on"])).days,
                )
            )
    return sorted(items, key=lambda i: i.urgency)


def _item(kind: str, action: str, field: str | None, raw: dict[str, Any], on: date) -> Item:
    due = date.fromisoformat(raw[field]) if field and raw.get(field) else None
    left = None
    if due is not None:
        # past due is at least one day overdue, on a weekend or a holiday too (0 working days since)
        left = working_days_between(on, due) if due >= on else -max(1, working_days_between(due, on))
    days = next((raw[k] for k in ("days_waiting", "days_at_large", "days_past") if k in raw), None)
    return Item(kind, raw["person_id"], raw["case_id"], raw["commune_code"], action, due, left, days, raw.get("move"))


async def add_names(ctx: Ctx, items: list[Item]) -> None:
    """Each person's name and village in one read at the registry (audited there, person by person), for the
    roles allowed to see them."""
    if not items or not await ctx.may("registry", "read"):
        return
    ids = sorted({i.person_id for i in items})
    try:
        found = await ctx.get("registry", "/persons", person_id=ids, page_size=len(ids))
    except ApiError:
        return
    people = {p["person_id"]: p for p in found["items"]}
    for item in items:
        person = people.get(item.person_id)
        if person:
            item.name, item.village = person["full_name"], person.get("village")
