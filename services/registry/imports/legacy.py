"""Lists stored in clear before imports were sealed (migration 2 set them aside): sealed or dropped, once.

Migration 2 is SQL and cannot seal, so it only moves the old clear copies to `legacy_content`; this step, run by
the import worker before it resumes anything, reads the file of an import that has still to finish into sealed
rows (what a resumed import needs) and drops every copy, then rewrites the table so the clear bytes do not
linger in dead row versions.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.registry.imports.parse import prepare
from services.registry.tables import imports
from services.registry.vault import Vault
from shared.kernel.migrations import lock_key
from shared.runtime.limits import LimitExceeded, Limits
from shared.runtime.offload import in_process, in_thread
from shared.runtime.tabular import UnreadableFile

log = logging.getLogger("rehab.registry.imports")
UNFINISHED = ("queued", "running")


async def seal_clear_copies(engine: AsyncEngine, vault: Vault, limits: Limits) -> int:
    """Seal (as rows) or drop every clear copy of an uploaded list; how many there were (0 once done)."""
    async with engine.begin() as conn:
        # replicas starting together: one does the work, the others then find nothing left
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("imports:clear-copies")})
        found = (
            await conn.execute(
                select(imports.c.import_id, imports.c.status, imports.c.file_sha256).where(
                    imports.c.legacy_content.is_not(None)
                )
            )
        ).all()
        for import_id, status, digest in found:
            values: dict[str, Any] = {"legacy_content": None, "file_sha256": vault.file_key(digest)}
            if status in UNFINISHED:  # a resumed import needs its rows: keep them, sealed
                values.update(await _sealed_rows(conn, vault, limits, str(import_id)))
            await conn.execute(update(imports).where(imports.c.import_id == import_id).values(**values))
    if found:
        log.warning("sealed or dropped %d clear copies of imported lists", len(found))
        try:
            async with engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM FULL imports"))  # outside a transaction, as VACUUM must be
        except Exception:
            log.exception("VACUUM FULL imports failed: the clear copies may linger on disk until a vacuum")
    return len(found)


async def _sealed_rows(conn: AsyncConnection, vault: Vault, limits: Limits, import_id: str) -> dict[str, Any]:
    clear = await conn.scalar(select(imports.c.legacy_content).where(imports.c.import_id == import_id))
    try:
        _, packed = await in_process(prepare, clear, limits)
    except (UnreadableFile, LimitExceeded) as exc:
        return {"status": "failed", "error": str(exc), "finished_at": datetime.now(UTC)}
    return {"sealed_rows": await in_thread(vault.seal_file, packed, import_id)}
