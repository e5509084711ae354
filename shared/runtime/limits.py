"""Size limits on what a client may send, in one place, and the middleware that caps request bodies.

A body is refused before anything parses it: a JSON body over `json_bytes` answers 413 (over `json_items`
members and items, 422), an upload over `upload_bytes` answers 422. Uploaded tables have their own caps
(uncompressed size, rows, columns, cell length), checked by `shared.runtime.tabular` while it streams the rows.
"""

from __future__ import annotations

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.runtime.errors import Invalid, error_body

MiB = 1024 * 1024
FORM_ALLOWANCE = 64 * 1024  # an upload's boundaries and its few form fields, beside the file itself


class Limits(BaseSettings):
    """The caps, from REHAB_LIMIT_* variables; the defaults fit the largest list a province sends."""

    model_config = SettingsConfigDict(env_prefix="REHAB_LIMIT_", extra="ignore")

    json_bytes: int = 1 * MiB  # a JSON request body (a person, a plan): a few kilobytes in practice
    # members and items of a JSON body, counted as its "," and ":" before parsing: validation costs about 14 µs
    # per error, and 1 MiB of unknown keys made 100,000 errors (1.4 s of the event loop)
    json_items: int = 2_000
    upload_bytes: int = 20 * MiB  # an uploaded CSV or XLSX file as sent
    uncompressed_bytes: int = 200 * MiB  # what an XLSX (a zip) expands to, every part together
    compression_ratio: int = 100  # a part expanding more than this many times is a zip bomb, not a list
    xlsx_parts: int = 1_000  # files inside an XLSX; a workbook has a few dozen
    rows: int = 100_000  # rows of a table, the header aside
    columns: int = 50
    cell_chars: int = 1_000
    # a refused body up to this size is read to its end (and dropped, unparsed) before the answer: a client still
    # sending would otherwise see its connection reset instead of the 413 or 422; a larger one is cut off
    drain_bytes: int = 64 * MiB


@cache
def current_limits() -> Limits:
    """The limits of this process (read from the environment once)."""
    return Limits()


class LimitExceeded(Invalid):
    """A request or file beyond one of the limits: 422 naming the limit, in English and Vietnamese."""

    code = "limit_exceeded"

    def __init__(self, name: str, value: int, message: str, message_vi: str, field: str = "file") -> None:
        text = f"{message} (limit {name} = {value:,}) ({message_vi})"
        super().__init__(text, {field: text}, limit={"name": name, "value": value})


class BodyTooLarge(LimitExceeded):
    """A request body over the JSON limit: 413."""

    status = 413
    code = "payload_too_large"


def vi_number(number: int) -> str:
    """100.000: a count with the Vietnamese thousands separator."""
    return f"{number:,}".replace(",", ".")


def body_too_large(limits: Limits) -> LimitExceeded:
    mib = limits.json_bytes / MiB
    return BodyTooLarge(
        "json_bytes",
        limits.json_bytes,
        f"the request body is larger than {mib:g} MiB",
        f"nội dung yêu cầu lớn hơn {mib:g} MiB",
        "body",
    )


def too_many_items(limits: Limits) -> LimitExceeded:
    return LimitExceeded(
        "json_items",
        limits.json_items,
        f"the request body has more than {limits.json_items:,} fields and items",
        f"nội dung yêu cầu có hơn {vi_number(limits.json_items)} trường và phần tử",
        "body",
    )


def upload_too_large(limits: Limits) -> LimitExceeded:
    mib = limits.upload_bytes / MiB
    return LimitExceeded(
        "upload_bytes",
        limits.upload_bytes,
        f"the file is larger than {mib:g} MiB; split the list",
        f"tệp lớn hơn {mib:g} MiB; hãy chia nhỏ danh sách",
    )


class BodyLimit:
    """ASGI middleware: a body over its limit is refused before the application reads it.

    Non-multipart bodies (JSON above all) are read here up to `json_bytes` and handed on whole, so a parser never
    sees more; multipart bodies stream through (an upload can be large) and are cut off at the upload limit.
    """

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app, self.limits = app, limits or current_limits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").lower().startswith("multipart/form-data")
        if multipart:
            limit, refusal = self.limits.upload_bytes + FORM_ALLOWANCE, upload_too_large(self.limits)
        else:
            limit, refusal = self.limits.json_bytes, body_too_large(self.limits)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            drained = int(declared) <= self.limits.drain_bytes and await _drain(receive, self.limits)
            await _answer(refusal, scope, receive, send, drained)
            return
        if multipart:
            await self.app(scope, _counted(receive, limit, refusal, self.limits), send)
            return
        body, last = await _buffer(receive, limit)
        if body is None:
            await _answer(refusal, scope, receive, send, await _drain(receive, self.limits))
            return
        if "json" in headers.get("content-type", "").lower() and body.count(b",") + body.count(b":") > (
            self.limits.json_items
        ):
            await _answer(too_many_items(self.limits), scope, receive, send, last is None)
            return
        await self.app(scope, _replay(body, last, receive), send)


async def _buffer(receive: Receive, limit: int) -> tuple[bytes | None, Message | None]:
    """The whole body (None past `limit`) and a non-body message that ended the reading (a disconnect)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, last: Message | None, receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if last is not None:
        pending.append(last)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def _counted(receive: Receive, limit: int, refusal: LimitExceeded, limits: Limits) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:  # raised inside the handler reading the stream, which answers it as an AppError
            if message.get("more_body", False):
                await _drain(receive, limits)
            raise refusal
        return message

    return counted


async def _drain(receive: Receive, limits: Limits) -> bool:
    """Read what is left of the body, up to `drain_bytes`, keeping none of it; True when it ended."""
    seen = 0
    while seen <= limits.drain_bytes:
        message = await receive()
        if message["type"] != "http.request":
            return False
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


async def _answer(refusal: LimitExceeded, scope: Scope, receive: Receive, send: Send, drained: bool) -> None:
    body = error_body(refusal.code, refusal.message, refusal.fields, **refusal.extra)
    # a body left unread cannot be told from the next request: then the connection closes after the answer
    headers = None if drained else {"connection": "close"}
    await JSONResponse(body, refusal.status, headers)(scope, receive, send)
