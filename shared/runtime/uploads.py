"""Reading an uploaded file from a multipart request only when the handler asks, within the upload limit.

A handler that declared `UploadFile`/`Form` parameters would have FastAPI parse the whole body before its first
line runs, so a caller without the right role could still make the service read a large file. Upload handlers
declare no body parameters, check the caller, then call `read_upload`. The file stays in memory (at most the
upload limit): a clear copy of a person list is never written to a temporary file on disk.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from shared.runtime.errors import Invalid
from shared.runtime.limits import FORM_ALLOWANCE, Limits, current_limits, upload_too_large

MAX_FILENAME = 255
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Upload:
    """The uploaded file and the form's text fields."""

    filename: str
    content: bytes
    fields: dict[str, str]


async def read_upload(request: Request, limits: Limits | None = None, name: str = "file") -> Upload:
    """The multipart form of `request` with its one file `name`, read now; 422 past the upload limit."""
    limits = limits or current_limits()
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise Invalid("send the file as multipart/form-data", {name: "a file is required (cần gửi kèm tệp)"})
    parser = MultiPartParser(
        request.headers, _capped(request.stream(), limits), max_files=1, max_fields=20, max_part_size=FORM_ALLOWANCE
    )
    parser.spool_max_size = limits.upload_bytes + 1  # kept in memory, never rolled over to a file on disk
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise Invalid(f"the upload cannot be read: {exc.message}", {name: exc.message}) from None
    file = form.get(name)
    if not isinstance(file, UploadFile):
        raise Invalid(f"the form has no file '{name}'", {name: "a file is required (cần gửi kèm tệp)"})
    content = await file.read()
    if len(content) > limits.upload_bytes:
        raise upload_too_large(limits)
    fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    return Upload(check_filename(file.filename or "upload"), content, fields)


def form_fields(model: type[M], fields: dict[str, str]) -> M:
    """The form's text fields validated by `model` (empty ones left out); 422 with a message per field."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v != "" and k in model.model_fields})
    except ValidationError as exc:
        errors = {".".join(str(p) for p in e["loc"]) or "form": str(e["msg"]) for e in exc.errors()}
        raise Invalid("the request has invalid fields", errors) from None


def check_filename(filename: str) -> str:
    """The name the user gave the file, kept as typed but refused with control or bidi-formatting characters."""
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in filename):
        raise Invalid(
            "the file name must not contain control characters",
            {"file": "the file name must not contain control characters (tên tệp không được chứa ký tự điều khiển)"},
        )
    if len(filename) > MAX_FILENAME:
        raise Invalid(
            f"the file name is longer than {MAX_FILENAME} characters",
            {"file": f"the file name is longer than {MAX_FILENAME} characters (tên tệp dài quá {MAX_FILENAME} ký tự)"},
        )
    return filename


async def _capped(stream: AsyncIterator[bytes], limits: Limits) -> AsyncGenerator[bytes, None]:
    budget = limits.upload_bytes + FORM_ALLOWANCE
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > budget:
            raise upload_too_large(limits)
        yield chunk


def multipart_body(description: str, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The OpenAPI `requestBody` of an upload route (its handler declares no body parameters)."""
    properties = {"file": {"type": "string", "format": "binary", "description": description}, **fields}
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}
