"""Bulk import of person lists: validated row by row, committed in chunks, resumable, idempotent.

Each chunk's persons, events, outbox rows, audit entries and the import's progress commit in one transaction,
so a process killed mid-file resumes after the last committed chunk and never creates a person twice. Every
row has a blind key over its content, so the same row imported again (same file or another) creates nothing.
The file is read once, in a worker process, within the limits; what the import keeps is its rows as read, sealed
by the vault, and only until it ends. Checking rows and sealing identities run in the worker processes too, a
chunk each while the service writes the one before: the event loop keeps serving while a list goes in, and the
machine's cores share the work (50,000 rows: 2,181 → 4,313 rows/s on 2 cores).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
from collections import deque
from collections.abc import Iterator
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import cast, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.registry import audit
from services.registry.commands import Registry
from services.registry.imports.chunk import Outcome, write_chunk
from services.registry.imports.legacy import seal_clear_copies
from services.registry.imports.parse import RawRow, prepare, unpack
from services.registry.imports.rows import Checked, check_chunk
from services.registry.tables import imports
from services.registry.vault import Vault
from shared.base.logs import set_correlation
from shared.kernel.events import CommandContext
from shared.kernel.ids import uuid7
from shared.kernel.migrations import lock_key
from shared.kernel.uow import SqlUnitOfWork
from shared.runtime.auth import Principal
from shared.runtime.limits import LimitExceeded, Limits, current_limits
from shared.runtime.offload import PROCESSES, in_process, in_thread, start_processes
from shared.runtime.tabular import UnreadableFile

log = logging.getLogger("rehab.registry.imports")
CHUNK = 1000
UNFINISHED = ("queued", "running")


class ImportWorker:
    """Accepts uploaded lists and works through them in the background, one chunk per transaction."""

    def __init__(self, engine: AsyncEngine, registry: Registry, chunk: int = CHUNK, limits: Limits | None = None):
        self.engine, self.registry, self.chunk = engine, registry, chunk
        self.limits = limits or current_limits()
        self._wake = asyncio.Event()
        self._clear_copies_sealed = False

    async def submit(
        self, who: Principal, filename: str, content: bytes, recorded_on: date, source: str, correlation_id: str
    ) -> str:
        """Read the list within the limits and store its rows sealed; processing starts in the background."""
        total, packed = await in_process(prepare, content, self.limits)  # raises before anything is stored
        import_id = str(uuid7())
        sealed = await in_thread(self.registry.vault.seal_file, packed, import_id)
        async with self.engine.begin() as conn:
            await conn.execute(
                imports.insert().values(
                    import_id=import_id,
                    file_sha256=self.registry.vault.file_key(hashlib.sha256(content).hexdigest()),
                    filename=filename,
                    sealed_rows=sealed,
                    actor=who.model_dump(mode="json"),
                    correlation_id=correlation_id,
                    source=source,
                    recorded_on=recorded_on,
                    status="queued",
                    total=total,
                    submitted_at=datetime.now(UTC),
                )
            )
            await audit.record(
                conn, who, "import_submitted", None, who.unit, import_id=import_id, filename=filename, rows=total
            )
        self._wake.set()
        return import_id

    async def run(self) -> None:
        """Work through queued and interrupted imports until cancelled."""
        await start_processes()
        # What the service built to start (modules, models, the catalogue of units) lives as long as it does: kept
        # out of the collector's full passes, which an import's millions of allocations set off a dozen times a file
        # and which otherwise walk all of it each time (a tenth of an import's CPU, measured). Garbage is collected
        # first, once: a frozen object is never freed by the collector.
        gc.collect()
        gc.freeze()
        while True:
            self._wake.clear()  # before the queue is read: a list submitted from now on is found, now or next turn
            try:
                if not self._clear_copies_sealed:
                    await seal_clear_copies(self.engine, self.registry.vault, self.limits)
                    self._clear_copies_sealed = True
                for import_id in await self._unfinished():
                    await self.process(import_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("import worker error; retrying shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 2.0)

    async def _unfinished(self) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(imports.c.import_id).where(imports.c.status.in_(UNFINISHED)).order_by(imports.c.submitted_at)
            )
            return [str(r.import_id) for r in rows]

    async def process(self, import_id: str) -> None:
        """Finish one import; a session-level advisory lock keeps two workers off the same file."""
        async with self.engine.connect() as lock_conn:
            key = lock_key(f"import:{import_id}")
            if not await lock_conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
                return
            try:
                await self._process_locked(import_id)
            finally:
                await lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await lock_conn.commit()

    async def _process_locked(self, import_id: str) -> None:
        async with self.engine.connect() as conn:
            job = (await conn.execute(select(imports).where(imports.c.import_id == import_id))).one()
        if job.status not in UNFINISHED:
            return
        set_correlation(job.correlation_id)  # the audit entries and log lines of the import share the upload's id
        who = Principal.model_validate(job.actor)
        try:
            if job.sealed_rows is None:
                raise UnreadableFile("the uploaded list is no longer stored; upload it again")
            rows = unpack(await in_thread(self.registry.vault.open_file, job.sealed_rows, import_id))
            await in_thread(_skip, rows, job.processed)  # what a previous process committed
            await self._set(import_id, status="running")
            ctx = CommandContext(actor=who.actor(), correlation_id=job.correlation_id)
            done = job.processed
            check = (self.registry.vault, who, job.recorded_on, job.source, ctx)

            def next_chunk() -> asyncio.Future[tuple[int, list[Checked], list[dict[str, Any]]]]:
                return asyncio.ensure_future(_checked(list(islice(rows, self.chunk)), *check))

            # the next chunks are checked in the worker processes, one each, while this one is written: their
            # rows are only counted as processed by the commit that writes them, so a kill still resumes exactly
            ahead = deque(next_chunk() for _ in range(PROCESSES))
            try:
                while (checked := await ahead.popleft())[0]:
                    ahead.append(next_chunk())
                    size, valid, rejected = checked
                    await self._commit_chunk(import_id, valid, rejected, size, who, ctx)
                    done += size
                    log.info("import %s: %d of %s rows", import_id, done, job.total)
            finally:  # stopped before the end (an error, a shutdown): what was read ahead is dropped
                for later in ahead:
                    if not later.cancel() and not later.cancelled():
                        later.exception()  # its failure, if any, is not the one to report: the chunk written first's is
        except (UnreadableFile, LimitExceeded) as exc:
            await self._finish(import_id, "failed", str(exc))
            return
        except InvalidTag:
            await self._finish(import_id, "failed", "the stored file cannot be opened with this service's key")
            return
        await self._finish(import_id, "done", None)

    async def _commit_chunk(
        self,
        import_id: str,
        valid: list[Checked],
        rejected: list[dict[str, Any]],
        size: int,
        who: Principal,
        ctx: CommandContext,
    ) -> None:
        for attempt in range(3):
            try:
                async with SqlUnitOfWork(self.engine) as uow:  # the chunk and the import's progress together
                    outcome = await write_chunk(uow, self.registry, valid, who, ctx, import_id)
                    outcome.rejected[:0] = rejected
                    await self._record_progress(uow.conn, import_id, size, outcome)
                    await uow.commit()
                return
            except IntegrityError:
                if attempt == 2:
                    raise
                log.info("import %s: a concurrent registration overlapped the chunk; retrying it", import_id)

    async def _record_progress(self, conn: AsyncConnection, import_id: str, rows: int, outcome: Outcome) -> None:
        await conn.execute(
            update(imports)
            .where(imports.c.import_id == import_id)
            .values(
                processed=imports.c.processed + rows,
                created=imports.c.created + len(outcome.created),
                duplicates=imports.c.duplicates + outcome.duplicates,
                rejected=imports.c.rejected.op("||")(cast(outcome.rejected, JSONB)),
                flagged=imports.c.flagged.op("||")(cast(outcome.flagged, JSONB)),
            )
        )

    async def _set(self, import_id: str, **values: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(imports).where(imports.c.import_id == import_id).values(**values))

    async def _finish(self, import_id: str, status: str, error: str | None) -> None:
        """The import's last state; its rows, even sealed, are dropped: nothing keeps a list once it is in."""
        await self._set(import_id, status=status, error=error, finished_at=datetime.now(UTC), sealed_rows=None)
        log.info("import %s %s%s", import_id, status, f": {error}" if error else "")


async def _checked(
    chunk: list[RawRow], vault: Vault, who: Principal, recorded_on: date, source: str, ctx: CommandContext
) -> tuple[int, list[Checked], list[dict[str, Any]]]:
    """The chunk's size, its rows that pass (ready to write) and the report of the rest, from a worker process."""
    if not chunk:
        return 0, [], []
    return len(chunk), *await in_process(check_chunk, vault, chunk, who, recorded_on, source, ctx)


def _skip(rows: Iterator[RawRow], count: int) -> None:
    for _ in islice(rows, count):
        pass
