"""Hồ sơ: search people, a person's file with the timeline of every event, and a form for each action allowed now.

The registry and the cases service say which actions the user may take on this file and case (`actions`); a form
posted here goes to the service as the user, and its refusals come back next to the fields they concern.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.web.backend import ApiError
from services.web.context import Ctx, Page, Posted, Refused
from services.web.forms import CASE_FORMS, PERSON_FORMS, Form
from services.web.i18n import label

router = APIRouter(include_in_schema=False)


@router.get("/ho-so")
async def search(ctx: Page, q: str = "", page: int = 1) -> Response:
    found = await ctx.get("registry", "/persons", q=q.strip()[:120] or None, page=max(page, 1), page_size=50)
    return await ctx.render("people.html", q=q, found=found, may_register=await ctx.may("registry", "register"))


@router.get("/ho-so/moi")
async def new_person(ctx: Page) -> Response:
    form = PERSON_FORMS["register"]
    values = {**form.defaults(), "commune_code": ctx.session.unit if len(ctx.session.unit) == 5 else ""}
    return await _form_page(ctx, form, values, {}, back="/ho-so")


@router.post("/ho-so/moi")
async def register(ctx: Posted) -> Response:
    form = PERSON_FORMS["register"]
    values = await _values(ctx.request)
    try:
        answer = await ctx.send("POST", "registry", form.path, form.body(values))
    except ApiError as exc:
        return await _refused(ctx, form, values, exc, back="/ho-so")
    ctx.flash(ctx.t("people.registered", name=values.get("full_name", "")))
    if answer.get("likely_duplicates"):
        ctx.flash(ctx.t("person.duplicates"))
    return RedirectResponse(f"/ho-so/{answer['person_id']}", 303)


@router.get("/ho-so/{person_id}")
async def person_file(person_id: str, ctx: Page) -> Response:
    _uuid(person_id)
    person = await ctx.get("registry", f"/persons/{person_id}")
    listed, capabilities = await asyncio.gather(
        ctx.get_or_none("cases", "/cases", person_id=person_id, page_size=50),
        ctx.get_or_none("cases", "/capabilities"),
    )
    cases = await asyncio.gather(*(ctx.get("cases", f"/cases/{c['case_id']}") for c in (listed or {}).get("items", [])))
    timeline = [{**e, "case_id": None} for e in person.get("history", [])]
    for case in cases:
        timeline += [{**e, "case_id": case["case_id"]} for e in case.get("history", [])]
    timeline.sort(key=lambda e: (e["recorded_at"], e["stream_version"]), reverse=True)
    has_open = any(c["state"] in ("active", "absconded", "completed", "post_rehab") for c in cases)
    enrol = bool((capabilities or {}).get("enroll")) and not has_open and _open(person)
    person_actions = [a for a in person["actions"] if a in PERSON_FORMS] + (["enroll"] if enrol else [])
    return await ctx.render(
        "person.html", person=person, cases=cases, timeline=timeline, person_actions=person_actions, forms=CASE_FORMS
    )


@router.get("/ho-so/{person_id}/{action}")
async def person_form(person_id: str, action: str, ctx: Page, duplicate_id: str = "") -> Response:
    _uuid(person_id)
    form = _person_form(action)
    values = {**form.defaults(), "person_id": person_id, "duplicate_id": duplicate_id}
    return await _form_page(ctx, form, values, {}, back=f"/ho-so/{person_id}", subject=await _subject(ctx, person_id))


@router.post("/ho-so/{person_id}/{action}")
async def person_action(person_id: str, action: str, ctx: Posted) -> Response:
    _uuid(person_id)
    form = _person_form(action)
    values = {**await _values(ctx.request), "person_id": person_id}
    back = f"/ho-so/{person_id}"
    try:
        await ctx.send("POST", form.service, form.path.format(person_id=person_id), form.body(values))
    except ApiError as exc:
        return await _refused(ctx, form, values, exc, back=back, subject=await _subject(ctx, person_id))
    ctx.flash(ctx.t("person.recorded"))
    return RedirectResponse(values["return_to"] if _local(values.get("return_to")) else back, 303)


@router.get("/vu-viec/{case_id}/{action}")
async def case_form(case_id: str, action: str, ctx: Page, move: str = "") -> Response:
    _uuid(case_id)
    form = _case_form(action)
    case = await ctx.get("cases", f"/cases/{case_id}")
    values = {**form.defaults(), "move": move}
    return await _form_page(
        ctx,
        form,
        values,
        {},
        back=f"/ho-so/{case['person_id']}",
        subject=await _subject(ctx, case["person_id"]),
        case=case,
    )


@router.post("/vu-viec/{case_id}/{action}")
async def case_action(case_id: str, action: str, ctx: Posted) -> Response:
    _uuid(case_id)
    form = _case_form(action)
    values = await _values(ctx.request)
    case = await ctx.get("cases", f"/cases/{case_id}")
    back = f"/ho-so/{case['person_id']}"
    try:
        await ctx.send("POST", "cases", form.path.format(case_id=case_id), form.body(values))
    except ApiError as exc:
        subject = await _subject(ctx, case["person_id"])
        return await _refused(ctx, form, values, exc, back=back, subject=subject, case=case)
    ctx.session.cache.pop("work_count", None)
    ctx.flash(ctx.t("person.recorded"))
    return RedirectResponse(str(values.get("return_to") or back) if _local(values.get("return_to")) else back, 303)


async def _form_page(
    ctx: Ctx, form: Form, values: dict[str, str], errors: dict[str, str], back: str, status: int = 200, **extra: Any
) -> Response:
    options: dict[str, list[tuple[str, str]]] = {}
    if form.action == "enroll":
        allowed = (await ctx.get_or_none("cases", "/capabilities") or {}).get("enroll", [])
        options["modality"] = [(m, label(ctx.lang, "modality", m)) for m in allowed]
    return await ctx.render(
        "form.html",
        status,
        form=form,
        values=values,
        errors=errors,
        back=back,
        options=options,
        return_to=values.get("return_to") or ctx.request.query_params.get("return_to", ""),
        **extra,
    )


async def _refused(ctx: Ctx, form: Form, values: dict[str, str], exc: ApiError, back: str, **extra: Any) -> Response:
    """The form again with the service's refusal: next to its field when it names one, above the form otherwise."""
    if exc.status >= 500:
        raise exc
    known = {f.name for f in form.fields}
    errors = {k: v for k, v in exc.fields.items() if k in known}
    general = [v for k, v in exc.fields.items() if k not in known]
    if (not errors and not general) or exc.status in (403, 409):
        general.insert(0, exc.message)
    errors["_form"] = " ".join(dict.fromkeys(general))
    return await _form_page(ctx, form, values, errors, back, status=exc.status if exc.status < 500 else 422, **extra)


async def _subject(ctx: Ctx, person_id: str) -> dict[str, Any] | None:
    try:
        person: dict[str, Any] = await ctx.get("registry", f"/persons/{person_id}")
        return person
    except ApiError:
        return None


async def _values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if k != "csrf" and isinstance(v, str)}


def _person_form(action: str) -> Form:
    if action not in PERSON_FORMS or action == "register":
        raise Refused(action)
    return PERSON_FORMS[action]


def _case_form(action: str) -> Form:
    if action not in CASE_FORMS:
        raise Refused(action)
    return CASE_FORMS[action]


def _open(person: dict[str, Any]) -> bool:
    return person.get("merged_into") is None and person.get("died_on") is None


def _local(path: object) -> bool:
    return isinstance(path, str) and path.startswith("/") and not path.startswith("//")


def _uuid(value: str) -> None:
    try:
        UUID(value)
    except ValueError:
        raise Refused(value) from None
