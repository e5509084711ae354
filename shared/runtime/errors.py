"""The error response format {"error": {"code", "message", "fields"}} and the handlers that produce it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.kernel.db import is_bad_data, is_transient
from shared.kernel.eventstore import ConcurrencyError
from shared.kernel.rules import RuleViolation

log = logging.getLogger("rehab.http")


class AppError(Exception):
    """An error a client can act on; `status` is its HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message, self.fields, self.extra = message, fields or {}, extra


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class Invalid(AppError):
    status, code = 422, "invalid"


_RULE_STATUS = {"conflict": 409, "invalid": 422, "not_found": 404, "forbidden": 403}


def error_body(code: str, message: str, fields: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}


def install_error_handlers(app: FastAPI) -> None:
    """Every failure answers in the one format; database outages are 503, never a 500."""

    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        headers |= getattr(exc, "headers", {})  # e.g. Retry-After on a 429
        return JSONResponse(error_body(exc.code, exc.message, exc.fields, **exc.extra), exc.status, headers)

    @app.exception_handler(ConcurrencyError)
    async def conflict(_: Request, exc: ConcurrencyError) -> JSONResponse:
        return JSONResponse(
            error_body("stale_version", "the record was changed by someone else at the same time; reload and retry"),
            409,
        )

    @app.exception_handler(RuleViolation)
    async def rule_violation(request: Request, exc: RuleViolation) -> JSONResponse:
        status = _RULE_STATUS[exc.kind]
        vietnamese = request.headers.get("accept-language", "").lower().startswith("vi")
        message = exc.message_vi if vietnamese else exc.message
        fields = {exc.field: message} if exc.field else None
        body = error_body(exc.code, message, fields, message_vi=exc.message_vi, **exc.extra)
        return JSONResponse(body, status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields: dict[str, str] = {}
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            fields.setdefault(".".join(loc) or "body", message)
        return JSONResponse(error_body("invalid", "the request has invalid fields", fields), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        return unexpected_error(exc)


def unexpected_error(exc: Exception) -> JSONResponse:
    """The answer to an exception no handler claimed: 422 for data the database refused, 503 when it is down.

    The service's middleware calls this itself, so the connection stays open: Starlette re-raises whatever reaches
    its catch-all handler, and uvicorn then resets the connection (a keep-alive client lost its next request).
    """
    if is_bad_data(exc):
        log.info("refused a value the database cannot take: %s", str(exc).splitlines()[0][:300])
        return JSONResponse(
            error_body(
                "invalid",
                "a value in the request is not valid (for example a NUL character, or a number too large)",
            ),
            422,
        )
    if is_transient(exc):
        log.warning("database unavailable: %s", exc)
        return JSONResponse(error_body("unavailable", "the database is unavailable; try again shortly"), 503)
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal", "an internal error occurred; it has been logged"), 500)
