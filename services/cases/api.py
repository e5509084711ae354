"""The cases HTTP API (`/api/v1`): enrolment, every step of a case, reads, deadlines and the rules in force."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from services.cases import audit, steps
from services.cases.commands import Cases
from services.cases.directory import DirectoryWait
from services.cases.domain.case import State
from services.cases.domain.rules import published
from services.cases.policy import authorize, enrolment_modalities
from services.cases.queries import deadlines, read_audit, read_case, search_cases
from services.cases.schemas import (
    AbscondmentIn,
    CaseOut,
    CasePage,
    CompletionIn,
    DropoutIn,
    DrugTestIn,
    EnrolmentIn,
    MonitoringEndIn,
    MonitoringIn,
    MoveNoticeIn,
    MoveReportIn,
    PostRehabEndIn,
    PostRehabIn,
    RelapseIn,
    RelapseRuledOutIn,
    ReturnIn,
    TerminationIn,
)
from services.cases.steps import Step
from shared.kernel.uow import SqlUnitOfWork
from shared.runtime.auth import CurrentPrincipal, Principal, Role, require_role
from shared.runtime.positions import AFTER_HEADER, parse_after
from shared.runtime.service import runtime_of


async def after_registry(request: Request) -> None:
    """Read your own writes: wait, bounded, for the registry writes a request names (shared/runtime/positions.py)."""
    positions = parse_after(request.headers.get(AFTER_HEADER))
    if positions:
        wait: DirectoryWait = request.app.state.directory_wait
        await wait.until_reached(runtime_of(request).engine, positions)


router = APIRouter(prefix="/api/v1", tags=["cases"], dependencies=[Depends(after_registry)])
Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]


def cases_service(request: Request) -> Cases:
    """The cases application service built once by the composition root (services/cases/app.py)."""
    cases: Cases = request.app.state.cases
    return cases


CasesService = Annotated[Cases, Depends(cases_service)]


async def _run(request: Request, cases: Cases, who: Principal, case_id: UUID, step: Step, body: Any) -> dict[str, Any]:
    """The one dispatcher of case steps: a unit of work, the step (authorized, then decided), the commit."""
    async with SqlUnitOfWork(runtime_of(request).engine) as uow:
        case = await cases.run(uow, who, str(case_id), step, body)
        await uow.commit()
    return {"case_id": case.case_id, "state": case.state, "version": case.version, "commune_code": case.commune_code}


@router.post("/cases", status_code=201, summary="Enrol a person (409 when they already have an open case)")
async def enroll(body: EnrolmentIn, who: CurrentPrincipal, request: Request, cases: CasesService) -> dict[str, Any]:
    engine = runtime_of(request).engine
    async with audit.attempt(engine, who, "enroll", str(body.person_id)), SqlUnitOfWork(engine) as uow:
        case_id = await cases.enroll(uow, who, body)
        await uow.commit()
    return {"case_id": case_id, "state": "active", "version": 1}


@router.post("/cases/{case_id}/completion", summary="Record completion (certificate)")
async def complete(
    case_id: UUID, body: CompletionIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.COMPLETE, body)


@router.post("/cases/{case_id}/abscondment", summary="Record that the resident absconded (the clock stops)")
async def abscond(
    case_id: UUID, body: AbscondmentIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.ABSCOND, body)


@router.post("/cases/{case_id}/return", summary="Record the return of an absconded resident")
async def return_(
    case_id: UUID, body: ReturnIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.RETURN, body)


@router.post("/cases/{case_id}/dropout", summary="Record a dropout (voluntary rehab or methadone)")
async def drop_out(
    case_id: UUID, body: DropoutIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.DROP_OUT, body)


@router.post("/cases/{case_id}/termination", summary="Terminate the case by decision")
async def terminate(
    case_id: UUID, body: TerminationIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.TERMINATE, body)


@router.post("/cases/{case_id}/post-rehab", summary="Start post-rehab management (commune decision)")
async def post_rehab(
    case_id: UUID, body: PostRehabIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.START_POST_REHAB, body)


@router.post("/cases/{case_id}/post-rehab/end", summary="End post-rehab management (certificate)")
async def post_rehab_end(
    case_id: UUID, body: PostRehabEndIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.END_POST_REHAB, body)


@router.post("/cases/{case_id}/relapse", summary="Record a relapse after completion")
async def relapse(
    case_id: UUID, body: RelapseIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.RELAPSE, body)


@router.post("/cases/{case_id}/drug-tests", summary="Record a drug test (in treatment or under post-rehab management)")
async def drug_test(
    case_id: UUID, body: DrugTestIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.DRUG_TEST, body)


@router.post(
    "/cases/{case_id}/relapse-ruled-out",
    summary="After a positive test during post-rehab management: no relapse found, the management goes on",
)
async def relapse_ruled_out(
    case_id: UUID, body: RelapseRuledOutIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.RULE_OUT_RELAPSE, body)


@router.post(
    "/cases/{case_id}/move-notice",
    summary="The sending commune police notified the receiving commune of a managed person's move",
)
async def move_notice(
    case_id: UUID, body: MoveNoticeIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.MOVE_NOTICE, body)


@router.post("/cases/{case_id}/move-report", summary="The managed person reported at the new place of residence")
async def move_report(
    case_id: UUID, body: MoveReportIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.MOVE_REPORT, body)


@router.post(
    "/cases/{case_id}/electronic-monitoring",
    summary="Order electronic monitoring (commune police chief; from 2026-07-01, Law 120/2025 Art. 12, unverified)",
)
async def order_monitoring(
    case_id: UUID, body: MonitoringIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.ORDER_MONITORING, body)


@router.post("/cases/{case_id}/electronic-monitoring/end", summary="End the running electronic monitoring order")
async def end_monitoring(
    case_id: UUID, body: MonitoringEndIn, who: CurrentPrincipal, request: Request, cases: CasesService
) -> dict[str, Any]:
    return await _run(request, cases, who, case_id, steps.END_MONITORING, body)


@router.get("/cases/{case_id}", response_model=CaseOut, summary="One case")
async def get_case(case_id: UUID, who: CurrentPrincipal, request: Request, cases: CasesService) -> CaseOut:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "read_case", case_id=str(case_id)):
        authorize(who, "read")
        async with rt.engine.begin() as conn:  # begin: the read's audit entry commits with it
            return await read_case(conn, rt.units, cases.store, who, str(case_id))


@router.get("/cases", response_model=CasePage, summary="Cases in your area")
async def list_cases(
    who: CurrentPrincipal,
    request: Request,
    person_id: UUID | None = None,
    commune_code: str | None = None,
    state: State | None = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> CasePage:
    rt = runtime_of(request)
    person = str(person_id) if person_id else None
    async with audit.attempt(rt.engine, who, "search_cases", person):
        authorize(who, "read")
        async with rt.engine.begin() as conn:
            return await search_cases(conn, rt.units, who, person, commune_code, state, page, page_size)


@router.get(
    "/deadlines",
    summary="Completers awaiting a post-rehab decision, absconders, periods ending, overruns, positive tests during "
    "post-rehab management, the notices and reports owed for moves",
)
async def get_deadlines(
    who: CurrentPrincipal,
    request: Request,
    cases: CasesService,
    unit_code: str | None = None,
    as_of: date | None = None,
) -> dict[str, Any]:
    authorize(who, "read")
    rt = runtime_of(request)
    async with rt.engine.begin() as conn:
        return await deadlines(conn, rt.units, cases.rules, who, unit_code, as_of or cases.clock())


@router.get("/deadlines/counts", summary="How many items each deadline list holds (no person shown, not audited)")
async def count_deadlines(
    who: CurrentPrincipal, request: Request, cases: CasesService, unit_code: str | None = None
) -> dict[str, Any]:
    authorize(who, "read")
    rt = runtime_of(request)
    async with rt.engine.connect() as conn:
        return await deadlines(conn, rt.units, cases.rules, who, unit_code, cases.clock(), shown=False)


@router.get("/audit", tags=["audit"], summary="Who read the cases of persons in your area (auditors)")
async def audit_trail(
    who: CurrentPrincipal, request: Request, person_id: UUID | None = None, page: Page = 1, page_size: PageSize = 100
) -> dict[str, Any]:
    require_role(who, Role.AUDITOR)
    rt = runtime_of(request)
    async with rt.engine.connect() as conn:
        return await read_audit(conn, rt.units, who, str(person_id) if person_id else None, page, page_size)


@router.get("/capabilities", summary="What the caller may start: the modalities it may enrol a person in")
async def capabilities(who: CurrentPrincipal) -> dict[str, Any]:
    return {"enroll": enrolment_modalities(who)}


@router.get(
    "/rules",
    summary="The law's durations and deadlines by the date they apply from; each number with its article and "
    "whether it was verified against the law's text",
)
async def rules() -> dict[str, Any]:
    return {"rulesets": published()}
