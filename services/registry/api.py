"""The registry's HTTP API (`/api/v1`): persons, determinations, residence changes, merges, imports, audit."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from services.registry import audit, steps
from services.registry.commands import Registry
from services.registry.dedupe import identity_lookups
from services.registry.imports.parse import ImportForm
from services.registry.imports.worker import ImportWorker
from services.registry.policy import Action, allowed_actions, authorize
from services.registry.queries import (
    MAX_PAGE_SIZE,
    pending_assignments,
    read_audit,
    read_person,
    registration_attempts,
    search_persons,
)
from services.registry.schemas import (
    AssignmentIn,
    DeathIn,
    DeterminationIn,
    MergeIn,
    NewPerson,
    PendingPage,
    PersonOut,
    PersonPage,
    ResidenceChangeIn,
)
from services.registry.settings import RegistrySettings
from services.registry.tables import imports
from services.registry.vault import Vault
from shared.base.logs import current_correlation_id
from shared.kernel.clock import today
from shared.kernel.ids import uuid7
from shared.kernel.uow import SqlUnitOfWork
from shared.runtime.auth import CurrentPrincipal, refuse_if_abolished, sees
from shared.runtime.errors import Invalid, NotFound
from shared.runtime.positions import answer_with_position
from shared.runtime.service import Composition, Runtime, runtime_of
from shared.runtime.tabular import UnreadableFile
from shared.runtime.uploads import form_fields, multipart_body, read_upload

router = APIRouter(prefix="/api/v1", tags=["persons"])
Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


def registry_service(request: Request) -> Registry:
    """The registry's application service, built once by the composition root (services/registry/app.py)."""
    registry: Registry = request.app.state.registry
    return registry


def import_worker(request: Request) -> ImportWorker:
    """The import worker, built once by the composition root beside the registry it registers through."""
    worker: ImportWorker = request.app.state.imports
    return worker


RegistryService = Annotated[Registry, Depends(registry_service)]
Imports = Annotated[ImportWorker, Depends(import_worker)]


def compose(rt: Runtime) -> Composition:
    """The registry and its import worker over this runtime's engine; the worker resumes unfinished imports."""
    assert rt.store is not None
    own = RegistrySettings()
    key = own.pii_key.get_secret_value() if own.pii_key else None
    lookups = identity_lookups(rt.engine, rt.settings.service, own)
    registry = Registry(rt.store, rt.units, Vault(key), lookups, clock=today)
    worker = ImportWorker(rt.engine, registry)
    return Composition({"registry": registry, "imports": worker}, background=[worker.run])


@router.post(
    "/persons",
    status_code=201,
    summary="Put a person on record (409 if the citizen id is known)",
    responses={
        409: {"description": "on record: with `person_id` in your area, `on_record_elsewhere` without it outside"},
        429: {"description": "too many lookups by citizen id from this account; see Retry-After"},
    },
)
async def register(
    body: NewPerson, who: CurrentPrincipal, request: Request, response: Response, registry: RegistryService
) -> dict[str, Any]:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "register"), SqlUnitOfWork(rt.engine) as uow:
        person_id, likely = await registry.register(uow, who, body)
        await uow.commit()
    answer_with_position(response, person_id, 1)
    return {
        "person_id": person_id,
        "version": 1,
        "commune_code": body.commune_code,
        "status": body.status,
        "likely_duplicates": likely,
    }


@router.get("/persons/{person_id}", response_model=PersonOut, summary="A person's file (the read is audited)")
async def get_person(person_id: UUID, who: CurrentPrincipal, request: Request, registry: RegistryService) -> PersonOut:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "read", str(person_id)):
        authorize(who, Action.READ)
        async with rt.engine.begin() as conn:
            return await read_person(conn, registry, who, str(person_id))


@router.get(
    "/persons",
    response_model=PersonPage,
    summary="Search people on record in your area (audited)",
    responses={429: {"description": "too many lookups by citizen id from this account; see Retry-After"}},
)
async def list_persons(
    who: CurrentPrincipal,
    request: Request,
    registry: RegistryService,
    commune_code: str | None = None,
    status: Literal["user", "addict"] | None = None,
    q: Annotated[str | None, Query(max_length=120, description="name words or a 12-digit citizen id")] = None,
    person_id: Annotated[list[UUID] | None, Query(max_length=MAX_PAGE_SIZE, description="these persons only")] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> PersonPage:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "search"):
        authorize(who, Action.READ)
        async with rt.engine.begin() as conn:
            ids = [str(p) for p in person_id] if person_id else None
            return await search_persons(conn, registry, who, commune_code, status, q, page, page_size, ids)


@router.post("/persons/{person_id}/addiction-determinations", status_code=201, summary="Record a determination")
async def determine(
    person_id: UUID,
    response: Response,
    body: DeterminationIn,
    who: CurrentPrincipal,
    request: Request,
    registry: RegistryService,
) -> dict[str, Any]:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "determine", str(person_id)), SqlUnitOfWork(rt.engine) as uow:
        version = await registry.run(uow, who, str(person_id), steps.DETERMINE, body)
        await uow.commit()
    answer_with_position(response, str(person_id), version)
    status = "addict" if body.result == "addicted" else "user"
    return {"person_id": str(person_id), "version": version, "status": status}


@router.post("/persons/{person_id}/residence-changes", status_code=201, summary="Move management to another commune")
async def move(
    person_id: UUID,
    response: Response,
    body: ResidenceChangeIn,
    who: CurrentPrincipal,
    request: Request,
    registry: RegistryService,
) -> dict[str, Any]:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "move", str(person_id)), SqlUnitOfWork(rt.engine) as uow:
        version = await registry.move(uow, who, str(person_id), body)
        await uow.commit()
    answer_with_position(response, str(person_id), version)
    return {"person_id": str(person_id), "version": version, "commune_code": body.commune_code}


@router.post("/persons/{person_id}/merges", summary="Merge a duplicate record into this one")
async def merge(
    person_id: UUID, body: MergeIn, who: CurrentPrincipal, request: Request, registry: RegistryService
) -> dict[str, Any]:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "merge", str(person_id)), SqlUnitOfWork(rt.engine) as uow:
        await registry.merge(uow, who, str(person_id), str(body.duplicate_id), body.merged_on)
        await uow.commit()
    return {"survivor_id": str(person_id), "duplicate_id": str(body.duplicate_id)}


@router.post("/persons/{person_id}/death", status_code=201, summary="Record the person's death (closes the record)")
async def death(
    person_id: UUID, body: DeathIn, who: CurrentPrincipal, request: Request, registry: RegistryService
) -> dict[str, Any]:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "record_death", str(person_id)), SqlUnitOfWork(rt.engine) as uow:
        await registry.run(uow, who, str(person_id), steps.RECORD_DEATH, body)
        await uow.commit()
    return {"person_id": str(person_id), "died_on": body.died_on.isoformat()}


@router.post(
    "/persons/{person_id}/assignment",
    status_code=201,
    summary="Assign a person of a commune split on 2025-07-01 to one of its successors (a recorded decision)",
)
async def assign(
    person_id: UUID,
    response: Response,
    body: AssignmentIn,
    who: CurrentPrincipal,
    request: Request,
    registry: RegistryService,
) -> dict[str, Any]:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "assign", str(person_id)), SqlUnitOfWork(rt.engine) as uow:
        version = await registry.run(uow, who, str(person_id), steps.ASSIGN, body)
        await uow.commit()
    answer_with_position(response, str(person_id), version)
    return {"person_id": str(person_id), "version": version, "commune_code": body.commune_code}


@router.get(
    "/reorganisation/pending",
    response_model=PendingPage,
    tags=["reorganisation"],
    summary="People of communes split on 2025-07-01 awaiting assignment to a successor commune (audited)",
)
async def pending(
    who: CurrentPrincipal,
    request: Request,
    registry: RegistryService,
    unit_code: Annotated[str | None, Query(pattern=r"^(VN|[0-9]{2,5})$")] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> PendingPage:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "read_pending"):
        authorize(who, Action.READ_PENDING)
        async with rt.engine.begin() as conn:
            return await pending_assignments(conn, registry, who, unit_code, page, page_size)


@router.post(
    "/persons/imports",
    status_code=202,
    summary="Import a police review list (CSV or XLSX)",
    openapi_extra=multipart_body(
        "CSV (UTF-8) or XLSX, one row per person", ImportForm.model_json_schema()["properties"]
    ),
)
async def submit_import(who: CurrentPrincipal, request: Request, imports: Imports) -> JSONResponse:
    # no UploadFile or Form parameters: FastAPI would read and parse the whole body before this first line
    authorize(who, Action.IMPORT)
    upload = await read_upload(request)
    form = form_fields(ImportForm, upload.fields)
    on = imports.registry.clock()
    when = form.recorded_on or on
    if when > on:
        raise Invalid("recorded_on is in the future", {"recorded_on": "date is in the future (ngày trong tương lai)"})
    refuse_if_abolished(who, imports.registry.units, when)
    worker = imports
    try:
        import_id = await worker.submit(
            who, upload.filename, upload.content, when, form.source, current_correlation_id() or str(uuid7())
        )
    except UnreadableFile as exc:
        raise Invalid(str(exc), {"file": str(exc)}) from None
    return JSONResponse(
        {"import_id": import_id, "status": "queued"}, 202, {"Location": f"/api/v1/persons/imports/{import_id}"}
    )


@router.get("/persons/imports/{import_id}", summary="Progress and report of an import")
async def import_report(import_id: UUID, who: CurrentPrincipal, request: Request) -> dict[str, Any]:
    authorize(who, Action.IMPORT)
    rt = runtime_of(request)
    async with rt.engine.connect() as conn:
        job = (await conn.execute(select(imports).where(imports.c.import_id == str(import_id)))).first()
    if job is None or not sees(who, rt.units, job.actor["unit"], job.recorded_on):
        raise NotFound(f"no import {import_id} in your area")
    return {
        "import_id": str(job.import_id),
        "filename": job.filename,
        "status": job.status,
        "total": job.total,
        "processed": job.processed,
        "created": job.created,
        "duplicates": job.duplicates,
        "rejected": job.rejected,
        "likely_duplicates": job.flagged,
        "error": job.error,
        "submitted_at": job.submitted_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


@router.get("/capabilities", summary="What the caller's role may do in the registry (the policy table's actions)")
async def capabilities(who: CurrentPrincipal) -> dict[str, Any]:
    return {"actions": allowed_actions(who)}


@router.get("/audit", tags=["audit"], summary="The audit trail of records in your area (auditors)")
async def audit_trail(
    who: CurrentPrincipal,
    request: Request,
    registry: RegistryService,
    person_id: UUID | None = None,
    page: Page = 1,
    page_size: PageSize = 100,
) -> dict[str, Any]:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "read_audit", str(person_id) if person_id else None):
        authorize(who, Action.READ_AUDIT)
        async with rt.engine.connect() as conn:
            return await read_audit(conn, registry, who, str(person_id) if person_id else None, page, page_size)


@router.get(
    "/registration-attempts",
    tags=["audit"],
    summary="Registrations refused because the person is on record in your area (province and district officers)",
)
async def registration_attempts_in_area(
    who: CurrentPrincipal, request: Request, registry: RegistryService, page: Page = 1, page_size: PageSize = 100
) -> dict[str, Any]:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "read_registration_attempts"):
        authorize(who, Action.READ_ATTEMPTS)
        async with rt.engine.connect() as conn:
            return await registration_attempts(conn, registry, who, page, page_size)
