"""The web app's forms against the services' own request bodies: each form posts to a route that exists, with the
fields its body declares and every field the body requires; every word a page asks for is in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from services.cases.api import router as cases_router
from services.cases.domain.case import ALLOWED
from services.registry.api import router as registry_router
from services.web.forms import CASE_FORMS, PERSON_FORMS, Form
from services.web.i18n import FIELDS, TEXT, dmy, label, translator
from shared.runtime.positions import parse_after

ROUTERS = {"registry": registry_router, "cases": cases_router}
TEMPLATES = Path(__file__).resolve().parents[3] / "services" / "web" / "templates"


def body_model(form: Form) -> type[BaseModel]:
    for route in ROUTERS[form.service].routes:
        if isinstance(route, APIRoute) and route.path == "/api/v1" + form.path and form.method in route.methods:
            assert route.body_field is not None, form.action
            model = route.body_field.field_info.annotation
            assert isinstance(model, type) and issubclass(model, BaseModel)
            return model
    raise AssertionError(f"{form.action}: no {form.method} {form.path} in the {form.service} service")


@pytest.mark.parametrize("form", [*PERSON_FORMS.values(), *CASE_FORMS.values()], ids=lambda f: f.action)
def test_each_form_posts_the_fields_of_its_service_s_body(form: Form) -> None:
    model = body_model(form)
    fields = {f.name for f in form.fields}
    assert fields <= set(model.model_fields), f"{form.action} sends fields its body does not have"
    required = {name for name, info in model.model_fields.items() if info.is_required()}
    assert required <= fields, f"{form.action} lacks {required - fields}"
    assert all(f.required for f in form.fields if f.name in required)


def test_every_step_a_case_offers_has_a_form() -> None:
    assert set(ALLOWED) | {"move_notice", "move_report"} <= set(CASE_FORMS)


def test_a_form_sends_numbers_as_numbers_and_leaves_empty_optional_fields_out() -> None:
    body = PERSON_FORMS["enroll"].body(
        {
            "person_id": "p",
            "modality": "methadone",
            "planned_months": "12",
            "facility": " ",
            "decision_number": "QĐ-1",
            "decided_on": "2026-01-02",
        }
    )
    assert body["planned_months"] == 12 and "facility" not in body and "court_decision_number" not in body


def test_every_word_the_pages_ask_for_exists_in_both_languages() -> None:
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(["']([a-z_.]*[a-z_])["']\)""", template.read_text(encoding="utf-8")))
    missing = sorted(k for k in used if k not in TEXT and k not in FIELDS)
    assert not missing, missing
    for key, (vi, en) in {**TEXT, **FIELDS}.items():
        assert vi.strip() and en.strip(), key
    assert translator("vi")("work.days_over", n=3) == "quá hạn 3 ngày làm việc"
    assert translator("en")("work.days_over", n=3) == "3 working days overdue"


def test_dates_read_day_first_and_times_in_vietnam() -> None:
    assert dmy("2026-07-01") == "01/07/2026"
    assert dmy("2026-06-30T18:30:00+00:00") == "01/07/2026 01:30"
    assert dmy(None) == "" and dmy("not a date") == "not a date"


def test_codes_read_as_words() -> None:
    assert label("vi", "modality", "methadone") == "Điều trị Methadone"
    assert label("en", "state", "post_rehab") == "Under post-rehab management"
    assert label("vi", "action", "start_post_rehab") == "Quyết định quản lý sau cai nghiện"
    assert label("vi", "event", "an_event_of_tomorrow") == "An event of tomorrow"


def test_a_rehab_after_header_names_persons_and_versions_and_ignores_anything_else() -> None:
    person = "01a24250-649b-7407-a76e-d156cfcac67e"
    assert parse_after(f"{person}:3") == [(person, 3)]
    assert parse_after(f"{person}:3, nonsense, {person.upper()}:x,{person}:4") == [(person, 3), (person, 4)]
    assert parse_after(None) == [] and parse_after("") == []
    assert len(parse_after(",".join([f"{person}:1"] * 50))) == 8  # bounded: a header cannot make it wait on many


def test_every_code_a_page_names_by_its_kind_has_its_words() -> None:
    from services.web.forms import RESULT, SEX, SOURCE, STATUS, TEST
    from services.web.pages.work import KINDS
    from shared.runtime.auth import Role

    keys = {f"kind.{k}" for k in KINDS} | {f"role.{r.value}" for r in Role}
    keys |= {key for _, key in (*SEX, *STATUS, *SOURCE, *RESULT, *TEST)}
    keys |= {f"status.{s}" for s in ("met", "on_track", "behind")}
    assert not sorted(k for k in keys if k not in TEXT)
