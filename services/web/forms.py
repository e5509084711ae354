"""Each action an official records, as one declaration: the service and path it goes to, and its fields.

A form's fields are the request body's fields (the services' schemas decide what is valid, and their refusals come
back per field); the page only offers the actions the service says the user may take now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.kernel.clock import today


@dataclass(frozen=True)
class Field:
    """One input: its name in the request body, its kind, and whether it may be left empty."""

    name: str
    kind: str = "text"  # text, date, number, select, textarea, hidden
    required: bool = True
    options: tuple[tuple[str, str], ...] = ()  # (value, label key) for a select
    default_today: bool = False


@dataclass(frozen=True)
class Form:
    """An action: the service, the method and path (with {person_id} or {case_id}) and its fields."""

    action: str
    service: str
    path: str
    fields: tuple[Field, ...]
    method: str = "POST"

    def body(self, values: dict[str, str]) -> dict[str, Any]:
        """The JSON body from the submitted values: empty optional fields left out, numbers as numbers."""
        body: dict[str, Any] = {}
        for f in self.fields:
            raw = values.get(f.name, "").strip()
            if not raw and not f.required:
                continue
            body[f.name] = int(raw) if f.kind == "number" and raw.lstrip("-").isdigit() else raw
        return body

    def defaults(self) -> dict[str, str]:
        """Today's date in the date fields that usually take it."""
        on: date = today()
        return {f.name: on.isoformat() for f in self.fields if f.default_today}


SEX = (("male", "sex.male"), ("female", "sex.female"))
STATUS = (("user", "pstatus.user"), ("addict", "pstatus.addict"))
SOURCE = (
    ("police_review", "source.police_review"),
    ("self_report", "source.self_report"),
    ("health_referral", "source.health_referral"),
)
RESULT = (("addicted", "result.addicted"), ("not_addicted", "result.not_addicted"))
TEST = (("negative", "result.negative"), ("positive", "result.positive"))


def _on(name: str) -> Field:
    return Field(name, "date", default_today=True)


PERSON_FORMS = {
    f.action: f
    for f in (
        Form(
            "register",
            "registry",
            "/persons",
            (
                Field("full_name"),
                Field("date_of_birth", "date"),
                Field("sex", "select", options=SEX),
                Field("citizen_id", required=False),
                Field("commune_code"),
                Field("village", required=False),
                Field("status", "select", options=STATUS),
                Field("source", "select", options=SOURCE),
                Field("recorded_on", "date", required=False, default_today=True),
            ),
        ),
        Form(
            "determine",
            "registry",
            "/persons/{person_id}/addiction-determinations",
            (Field("result", "select", options=RESULT), _on("determined_on"), Field("facility"), Field("form_number")),
        ),
        Form(
            "move",
            "registry",
            "/persons/{person_id}/residence-changes",
            (Field("commune_code"), Field("village", required=False), _on("moved_on")),
        ),
        Form("merge", "registry", "/persons/{person_id}/merges", (Field("duplicate_id"), _on("merged_on"))),
        Form("record_death", "registry", "/persons/{person_id}/death", (_on("died_on"),)),
        Form(
            "assign",
            "registry",
            "/persons/{person_id}/assignment",
            (Field("commune_code"), _on("decided_on"), Field("decision_number")),
        ),
        Form(
            "enroll",
            "cases",
            "/cases",
            (
                Field("person_id", "hidden"),
                Field("modality", "select"),  # the options are the modalities the user may enrol in
                Field("decision_number"),
                _on("decided_on"),
                _on("started_on"),
                Field("planned_months", "number", required=False),
                Field("facility", required=False),
                Field("court_decision_number", required=False),
            ),
        ),
    )
}

CASE_FORMS = {
    f.action: f
    for f in (
        Form("complete", "cases", "/cases/{case_id}/completion", (_on("completed_on"), Field("certificate_number"))),
        Form("abscond", "cases", "/cases/{case_id}/abscondment", (_on("absconded_on"),)),
        Form("return", "cases", "/cases/{case_id}/return", (_on("returned_on"),)),
        Form("drop_out", "cases", "/cases/{case_id}/dropout", (_on("dropped_on"), Field("reason", "textarea", False))),
        Form("terminate", "cases", "/cases/{case_id}/termination", (_on("terminated_on"), Field("reason", "textarea"))),
        Form(
            "start_post_rehab",
            "cases",
            "/cases/{case_id}/post-rehab",
            (
                Field("decision_number"),
                _on("decided_on"),
                _on("starts_on"),
                Field("months", "number", required=False),
                Field("mentor"),
            ),
        ),
        Form(
            "end_post_rehab",
            "cases",
            "/cases/{case_id}/post-rehab/end",
            (_on("ended_on"), Field("certificate_number")),
        ),
        Form("relapse", "cases", "/cases/{case_id}/relapse", (_on("detected_on"),)),
        Form(
            "drug_test",
            "cases",
            "/cases/{case_id}/drug-tests",
            (_on("tested_on"), Field("result", "select", options=TEST), Field("facility", required=False)),
        ),
        Form(
            "rule_out_relapse",
            "cases",
            "/cases/{case_id}/relapse-ruled-out",
            (_on("decided_on"), Field("reason", "textarea", False)),
        ),
        Form(
            "move_notice",
            "cases",
            "/cases/{case_id}/move-notice",
            (Field("move", "number", required=False), _on("noticed_on")),
        ),
        Form(
            "move_report",
            "cases",
            "/cases/{case_id}/move-report",
            (Field("move", "number", required=False), _on("reported_on")),
        ),
        Form(
            "order_monitoring",
            "cases",
            "/cases/{case_id}/electronic-monitoring",
            (_on("ordered_on"), _on("starts_on"), Field("ends_on", "date")),
        ),
        Form("end_monitoring", "cases", "/cases/{case_id}/electronic-monitoring/end", (_on("ended_on"),)),
    )
}
