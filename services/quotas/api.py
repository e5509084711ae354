"""The quotas HTTP API (`/api/v1`): plans per (year, unit), their children's quotas, history, table imports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.quotas.commands import WRITERS, Plans
from services.quotas.imports.parse import parse_plan_file
from services.quotas.queries import history, plan_with_children
from services.quotas.schemas import PlanIn
from shared.kernel.uow import SqlUnitOfWork
from shared.runtime.auth import CurrentPrincipal, require_scope
from shared.runtime.errors import Forbidden, Invalid
from shared.runtime.limits import current_limits
from shared.runtime.offload import in_process
from shared.runtime.service import runtime_of
from shared.runtime.tabular import UnreadableFile
from shared.runtime.uploads import form_fields, multipart_body, read_upload
from shared.vn.text import Reference

router = APIRouter(prefix="/api/v1", tags=["plans"])
Year = Annotated[int, Path(ge=2000, le=2100)]


def plans_service(request: Request) -> Plans:
    """The quotas application service built once by the composition root (services/quotas/app.py)."""
    plans: Plans = request.app.state.plans
    return plans


PlansService = Annotated[Plans, Depends(plans_service)]


@router.put("/plans/{year}/{unit_code}", summary="Issue a unit's plan for a year, or revise it (a new version)")
async def put_plan(
    year: Year, unit_code: str, body: PlanIn, who: CurrentPrincipal, request: Request, plans: PlansService
) -> JSONResponse:
    rt = runtime_of(request)
    targets = [t.target() for t in body.targets]
    async with SqlUnitOfWork(rt.engine) as uow:
        written = await plans.put(
            uow, who, year, unit_code, body.quotas, targets, body.document_number, body.document_date
        )
        view = await plan_with_children(uow.conn, rt.units, who, year, unit_code)
        await uow.commit()
    status = 201 if written.outcome == "created" else 200
    return JSONResponse(jsonable_encoder({"outcome": written.outcome, **view}), status)


@router.get("/plans/{year}", summary="A unit's plan with its children's quotas and their sums")
async def get_plan(year: Year, who: CurrentPrincipal, request: Request, unit_code: str | None = None) -> Any:
    rt = runtime_of(request)
    async with rt.engine.connect() as conn:
        return await plan_with_children(conn, rt.units, who, year, unit_code or who.unit)


@router.get("/plans/{year}/{unit_code}/history", summary="Every version of a plan with its document")
async def get_history(year: Year, unit_code: str, who: CurrentPrincipal, request: Request) -> Any:
    rt = runtime_of(request)
    assert rt.store is not None
    async with rt.engine.connect() as conn:
        return {
            "year": year,
            "unit_code": unit_code,
            "versions": await history(conn, rt.store, rt.units, who, year, unit_code),
        }


class PlanImportForm(BaseModel):
    """The form fields sent beside a plan table."""

    model_config = ConfigDict(extra="ignore")

    document_number: Reference | None = Field(default=None, max_length=120)
    document_date: date | None = None
    year: int | None = Field(default=None, ge=2000, le=2100, description="for an appendix: the plan's year")
    unit_code: str | None = Field(default=None, max_length=20, description="for an appendix: the issuing unit")


@router.post(
    "/plans/imports",
    summary="Import a plan table: an appendix, the codes file or the indicators file",
    openapi_extra=multipart_body("CSV (UTF-8) or XLSX", PlanImportForm.model_json_schema()["properties"]),
)
async def import_plans(who: CurrentPrincipal, request: Request, plans: PlansService) -> dict[str, Any]:
    # no UploadFile or Form parameters: FastAPI would read and parse the whole body before this first line
    if who.role not in WRITERS:
        raise Forbidden(f"role {who.role.value} may not write plans (district or province officers)")
    rt = runtime_of(request)
    upload = await read_upload(request)
    form = form_fields(PlanImportForm, upload.fields)
    if form.unit_code:  # before the file is parsed
        require_scope(who, form.unit_code, rt.units)
    try:
        table = await in_process(parse_plan_file, upload.content, form.year, form.unit_code, current_limits())
    except UnreadableFile as exc:
        raise Invalid(str(exc), {"file": str(exc)}) from None
    # the file name is typed by a user and the document number is published: a reference the server makes instead
    document = form.document_number or f"IMPORT-{plans.clock():%Y%m%d}"
    document_date = form.document_date
    outcomes: list[dict[str, Any]] = []
    async with SqlUnitOfWork(rt.engine) as uow:  # all or nothing: a quota that breaks the hierarchy refuses the file
        if table.kind == "appendix":
            for (plan_year, parent), totals in table.parents.items():
                written = await plans.put(uow, who, plan_year, parent, totals, None, document, document_date)
                outcomes.append({"year": plan_year, "unit_code": parent, "outcome": written.outcome})
        for line in table.lines:
            written = await plans.put(
                uow, who, line.year, line.unit_code, line.quotas, line.targets, document, document_date
            )
            outcomes.append(
                {"row": line.row, "year": line.year, "unit_code": line.unit_code, "outcome": written.outcome}
            )
        await uow.commit()
    counts = {k: sum(1 for o in outcomes if o["outcome"] == k) for k in ("created", "revised", "unchanged")}
    return {"kind": table.kind, **counts, "rejected": table.rejected, "plans": outcomes}
