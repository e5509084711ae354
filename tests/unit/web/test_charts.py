"""The server-drawn charts: well-formed SVG with a title for screen readers, labels escaped, bars to scale."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from services.web.charts import bars, gauge
from services.web.pages.home import ranked
from services.web.pages.work import Item

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_are_to_scale_with_the_target_as_a_tick_and_labels_escaped() -> None:
    svg = ET.fromstring(str(bars([("Xã <A>", 5, 10, "behind"), ("Xã B", 10, 10, "met")], "Chỉ tiêu")))
    assert svg.find(f"{SVG}title").text == "Chỉ tiêu"  # type: ignore[union-attr]
    widths = [int(r.get("width", 0)) for r in svg.iter(f"{SVG}rect") if r.get("fill") not in ("#e8ecf1",)]
    assert widths[1] == 2 * widths[0]
    assert next(t.text for t in svg.iter(f"{SVG}text")) == "Xã <A>"
    assert len(list(svg.iter(f"{SVG}line"))) == 2


def test_a_gauge_shows_a_missing_ratio_as_a_dash() -> None:
    svg = ET.fromstring(str(gauge(None, 1.0, "Tỷ lệ")))
    assert "–" in svg.get("aria-label", "")
    assert "80.0 %" in str(gauge(0.8, 0.8, "x"))


def test_the_province_sees_its_communes_furthest_behind_first() -> None:
    units = [
        {"unit_name": "A", "quota": {"compulsory": 4}, "achieved": {"compulsory": 4}},
        {"unit_name": "B", "quota": {"compulsory": 4}, "achieved": {"compulsory": 1}},
        {"unit_name": "C", "quota": {}, "achieved": {}},
    ]
    assert [u["unit_name"] for u in ranked({"units": units})] == ["B", "A", "C"]


def test_the_work_list_puts_the_most_overdue_first_and_the_soonest_due_next() -> None:
    def item(days: int | None, since: int | None = None) -> Item:
        return Item("k", "p", "c", "07615", "a", None, days, since)

    items = [item(3), item(-1), item(None, 40), item(0), item(-9)]
    assert [(i.working_days, i.days) for i in sorted(items, key=lambda i: i.urgency)] == [
        (-9, None),
        (None, 40),
        (-1, None),
        (0, None),
        (3, None),  # 40 days open rank as 8 working days overdue
    ]


def test_a_deadline_passed_on_a_friday_is_overdue_on_saturday_too() -> None:
    from datetime import date

    from services.web.pages.work import _item

    raw = {"person_id": "p", "case_id": "c", "commune_code": "07615", "due_on": "2026-12-04", "days_waiting": 9}
    saturday = _item("awaiting_post_rehab_decision", "start_post_rehab", "due_on", raw, date(2026, 12, 5))
    monday = _item("awaiting_post_rehab_decision", "start_post_rehab", "due_on", raw, date(2026, 12, 7))
    friday = _item("awaiting_post_rehab_decision", "start_post_rehab", "due_on", raw, date(2026, 12, 4))
    assert (saturday.working_days, monday.working_days, friday.working_days) == (-1, -1, 0)
