"""Nhập danh sách: upload a police review list, watch its progress, read every rejected row and download them.

The file goes to the registry's import as it is; the browser's copy of it is kept with the session until the
report is read, so the rejected rows can be handed back as a file to fix and upload again (nothing is stored).
"""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.web.backend import ApiError
from services.web.context import Page, Posted
from services.web.pages.reports import MEDIA
from shared.runtime.limits import LimitExceeded
from shared.runtime.tabular import UnreadableFile, read_rows
from shared.vn.text import spreadsheet_cell

router = APIRouter(include_in_schema=False)
KEEP_SECONDS = 3600


@router.get("/nhap-danh-sach")
async def upload_page(ctx: Page) -> Response:
    return await ctx.render("import.html", job=None, error="")


@router.post("/nhap-danh-sach")
async def upload(ctx: Posted) -> Response:
    form = await ctx.request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return await ctx.render("import.html", 422, job=None, error=ctx.t("import.file"))
    content = await file.read(ctx.web.settings.upload_max_mb * 1024 * 1024 + 1)
    if len(content) > ctx.web.settings.upload_max_mb * 1024 * 1024:
        return await ctx.render("import.html", 413, job=None, error=f"> {ctx.web.settings.upload_max_mb} MB")
    kind = MEDIA["xlsx"] if file.filename.lower().endswith(".xlsx") else MEDIA["csv"]
    try:
        answer = await ctx.web.backend.call(
            ctx.session,
            ctx.lang,
            "POST",
            "registry",
            "/persons/imports",
            files={"file": (file.filename, content, kind)},
        )
    except ApiError as exc:
        if exc.status >= 500:
            raise
        message = " ".join([exc.message, *exc.fields.values()])
        return await ctx.render("import.html", exc.status, job=None, error=message)
    import_id = answer.json()["import_id"]
    for older in [k for k in ctx.session.cache if k.startswith("upload:")]:
        del ctx.session.cache[older]  # one list kept per session: the latest, for its rejected rows
    ctx.session.remember(f"upload:{import_id}", (file.filename, content), KEEP_SECONDS)
    return RedirectResponse(f"/nhap-danh-sach/{import_id}", 303)


@router.get("/nhap-danh-sach/{import_id}")
async def report(import_id: str, ctx: Page) -> Response:
    job = await ctx.get("registry", f"/persons/imports/{import_id}")
    kept = ctx.session.recall(f"upload:{import_id}") is not None
    return await ctx.render("import.html", job=job, error="", kept=kept)


@router.get("/nhap-danh-sach/{import_id}/trang-thai")
async def progress(import_id: str, ctx: Page) -> JSONResponse:
    """The progress the page's script polls: processed of total, and whether it finished."""
    job = await ctx.get("registry", f"/persons/imports/{import_id}")
    keys = ("status", "total", "processed", "created", "duplicates")
    return JSONResponse({k: job.get(k) for k in keys} | {"rejected": len(job.get("rejected") or [])})


@router.get("/nhap-danh-sach/{import_id}/bi-tu-choi.csv")
async def rejected_rows(import_id: str, ctx: Page) -> Response:
    """The rejected rows of the uploaded file as CSV, each with its reasons in a last column, to fix and re-upload."""
    job = await ctx.get("registry", f"/persons/imports/{import_id}")
    kept = ctx.session.recall(f"upload:{import_id}")
    reasons = {int(r["row"]): r.get("errors", {}) for r in job.get("rejected") or []}
    out = io.StringIO()
    writer = csv.writer(out)
    if kept is not None:
        try:  # in a thread: a spreadsheet of 20 MB would hold up every other user's pages
            rows = await asyncio.to_thread(lambda: list(read_rows(kept[1])))
        except (UnreadableFile, LimitExceeded):
            rows = []
        if rows:
            writer.writerow([*rows[0], ctx.t("import.reasons")])
        for number, cells in enumerate(rows[1:], start=2):
            if number in reasons:
                writer.writerow([*(spreadsheet_cell(_text(c)) for c in cells), _reasons(reasons[number])])
    else:  # the file is no longer with the session: the row numbers and reasons still help
        writer.writerow([ctx.t("import.row"), ctx.t("import.reasons")])
        for number, errors in sorted(reasons.items()):
            writer.writerow([number, _reasons(errors)])
    body = "\ufeff" + out.getvalue()  # a BOM: spreadsheet programs then read Vietnamese as UTF-8
    headers = {"Content-Disposition": f'attachment; filename="bi-tu-choi-{import_id[:8]}.csv"'}
    return Response(body.encode(), media_type="text/csv; charset=utf-8", headers=headers)


def _text(cell: Any) -> str:
    return "" if cell is None else (cell.isoformat() if hasattr(cell, "isoformat") else str(cell))


def _reasons(errors: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in errors.items())
