"""The cases HTTP API (`/api/v1`): enrolment, every step of a case, reads, deadlines and the rules in force."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request

from services.cases import audit
from services.cases.commands import Cases, Decision
from services.cases.domain.case import Case, State
from services.cases.domain.rules import rulebook
from services.cases.policy import authorize
from services.cases.queries import deadlines, read_audit, read_case, search_cases
from services.cases.schemas import (
    AbscondmentIn,
    CaseOut,
    CasePage,
    CompletionIn,
    DropoutIn,
    EnrolmentIn,
    PostRehabEndIn,
    PostRehabIn,
    RelapseIn,
    ReturnIn,
    TerminationIn,
)
from shared.auth import CurrentPrincipal, Principal, Role, require_role
from shared.clock import today
from shared.service import Runtime, runtime_of

router = APIRouter(prefix="/api/v1", tags=["cases"])
Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]


def service(rt: Runtime) -> Cases:
    if "cases" not in rt.extras:
        assert rt.store is not None
        rt.extras["cases"] = Cases(rt.store, rt.units, rulebook())
    cases: Cases = rt.extras["cases"]
    return cases


async def _act(request: Request, who: Principal, case_id: UUID, action: str, decide: Decision) -> dict[str, Any]:
    rt = runtime_of(request)
    async with rt.engine.begin() as conn:
        case = await service(rt).act(conn, who, str(case_id), action, decide)
    return {"case_id": case.case_id, "state": case.state, "version": case.version, "commune_code": case.commune_code}


@router.post("/cases", status_code=201, summary="Enrol a person (409 when they already have an open case)")
async def enroll(body: EnrolmentIn, who: CurrentPrincipal, request: Request) -> dict[str, Any]:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "enroll", str(body.person_id)), rt.engine.begin() as conn:
        case_id = await service(rt).enroll(conn, who, body)
    return {"case_id": case_id, "state": "active", "version": 1}


@router.post("/cases/{case_id}/completion", summary="Record completion (certificate)")
async def complete(case_id: UUID, body: CompletionIn, who: CurrentPrincipal, request: Request) -> dict[str, Any]:
    rules = rulebook()
    return await _act(
        request,
        who,
        case_id,
        "complete",
        lambda c: c.complete(body.completed_on, body.certificate_number, rules, today()),
    )


@router.post("/cases/{case_id}/abscondment", summary="Record that the resident absconded (the clock stops)")
async def abscond(case_id: UUID, body: AbscondmentIn, who: CurrentPrincipal, request: Request) -> dict[str, Any]:
    return await _act(request, who, case_id, "abscond", lambda c: c.abscond(body.absconded_on, today()))


@router.post("/cases/{case_id}/return", summary="Record the return of an absconded resident")
async def return_(case_id: UUID, body: ReturnIn, who: CurrentPrincipal, request: Request) -> dict[str, Any]:
    return await _act(request, who, case_id, "return", lambda c: c.return_(body.returned_on, today()))


@router.post("/cases/{case_id}/dropout", summary="Record a dropout (voluntary rehab or methadone)")
async def drop_out(case_id: UUID, body: DropoutIn, who: CurrentPrincipal, request: Request) -> dict[str, Any]:
    return await _act(request, who, case_id, "drop_out", lambda c: c.drop_out(body.dropped_on, body.reason, today()))


@router.post("/cases/{case_id}/termination", summary="Terminate the case by decision")
async def terminate(case_id: UUID, body: TerminationIn, who: CurrentPrincipal, request: Request) -> dict[str, Any]:
    return await _act(
        request, who, case_id, "terminate", lambda c: c.terminate(body.terminated_on, body.reason, today())
    )


@router.post("/cases/{case_id}/post-rehab", summary="Start post-rehab management (commune decision)")
async def post_rehab(case_id: UUID, body: PostRehabIn, who: CurrentPrincipal, request: Request) -> dict[str, Any]:
    rules = rulebook()

    def decide(c: Case) -> Any:
        return c.start_post_rehab(
            body.decision_number, body.decided_on, body.starts_on, body.months, body.mentor, rules, today()
        )

    return await _act(request, who, case_id, "start_post_rehab", decide)


@router.post("/cases/{case_id}/post-rehab/end", summary="End post-rehab management (certificate)")
async def post_rehab_end(
    case_id: UUID, body: PostRehabEndIn, who: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    return await _act(
        request,
        who,
        case_id,
        "end_post_rehab",
        lambda c: c.end_post_rehab(body.ended_on, body.certificate_number, today()),
    )


@router.post("/cases/{case_id}/relapse", summary="Record a relapse after completion")
async def relapse(case_id: UUID, body: RelapseIn, who: CurrentPrincipal, request: Request) -> dict[str, Any]:
    return await _act(request, who, case_id, "relapse", lambda c: c.record_relapse(body.detected_on, today()))


@router.get("/cases/{case_id}", response_model=CaseOut, summary="One case")
async def get_case(case_id: UUID, who: CurrentPrincipal, request: Request) -> CaseOut:
    rt = runtime_of(request)
    async with audit.attempt(rt.engine, who, "read_case", case_id=str(case_id)):
        authorize(who, "read")
        async with rt.engine.begin() as conn:  # begin: the read's audit entry commits with it
            return await read_case(conn, rt.units, who, str(case_id))


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


@router.get("/deadlines", summary="Completers awaiting a post-rehab decision, absconders, periods ending, overruns")
async def get_deadlines(
    who: CurrentPrincipal, request: Request, unit_code: str | None = None, as_of: date | None = None
) -> dict[str, Any]:
    authorize(who, "read")
    rt = runtime_of(request)
    async with rt.engine.begin() as conn:
        return await deadlines(conn, rt.units, rulebook(), who, unit_code, as_of or today())


@router.get("/audit", tags=["audit"], summary="Who read the cases of persons in your area (auditors)")
async def audit_trail(
    who: CurrentPrincipal, request: Request, person_id: UUID | None = None, page: Page = 1, page_size: PageSize = 100
) -> dict[str, Any]:
    require_role(who, Role.AUDITOR)
    rt = runtime_of(request)
    async with rt.engine.connect() as conn:
        return await read_audit(conn, rt.units, who, str(person_id) if person_id else None, page, page_size)


@router.get("/rules", summary="The versioned durations and deadlines of the law, by the date they apply from")
async def rules() -> dict[str, Any]:
    return rulebook().model_dump(mode="json")
