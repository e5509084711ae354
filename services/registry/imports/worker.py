"""Bulk import of person lists: validated row by row, committed in chunks, resumable, idempotent.

Each chunk's persons, events, outbox rows, audit entries and the import's progress commit in one transaction,
so a process killed mid-file resumes after the last committed chunk and never creates a person twice. Every
row has a blind key over its content, so the same row imported again (same file or another) creates nothing.
The file is read once, in a worker process, within the limits; what the import keeps is its rows as read, sealed
by the vault, and only until it ends. Checking rows and building what they write (sealing identities,
serialising events) run in the worker processes, a chunk or two ahead of the one being written
(imports/ready.py): the event loop keeps serving while a list goes in, and an import uses both cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from sqlalchemy import cast, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.registry import audit
from services.registry.commands import Registry
from services.registry.imports.chunk import Outcome, known_keys, registry_store, write_chunk
from services.registry.imports.legacy import seal_clear_copies
from services.registry.imports.parse import packed_lines, prepare
from services.registry.imports.ready import (
    Built,
    ImportJob,
    Prepared,
    build_rows,
    check_and_build,
    check_lines,
    warm_up,
)
from services.registry.tables import imports
from shared.base.logs import set_correlation
from shared.kernel.events import CommandContext
from shared.kernel.eventstore import SealedRows
from shared.kernel.ids import uuid7
from shared.kernel.migrations import lock_key
from shared.kernel.uow import SqlUnitOfWork
from shared.runtime.auth import Principal
from shared.runtime.limits import LimitExceeded, Limits, current_limits
from shared.runtime.offload import PROCESSES, in_process, in_thread, start_processes
from shared.runtime.tabular import UnreadableFile

T = TypeVar("T")
log = logging.getLogger("rehab.registry.imports")
CHUNK = 1000
AHEAD = PROCESSES  # chunks being checked while one is written: one per worker process
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
        await asyncio.gather(*(in_process(warm_up) for _ in range(PROCESSES)))  # best effort: one call each
        # What the service built to start (modules, models, the catalogue of units) lives as long as it does: kept
        # out of the collector's full passes, which an import's millions of allocations set off a dozen times a file
        # and which otherwise walk all of it each time (a tenth of an import's CPU, measured). Garbage is collected
        # first, once: a frozen object is never freed by the collector.
        gc.collect()
        gc.freeze()
        while True:
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
            self._wake.clear()
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
            data = await in_thread(self.registry.vault.open_file, job.sealed_rows, import_id)
            lines = await in_thread(_lines_after, data, job.processed)  # past what a previous process committed
            await self._set(import_id, status="running")
            ctx = CommandContext(actor=who.actor(), correlation_id=job.correlation_id)
            store = registry_store(self.registry)
            spec = ImportJob(self.registry.vault, store.topic, who, job.recorded_on, job.source, ctx, import_id)
            done = job.processed
            ahead: deque[asyncio.Future[Prepared]] = deque()
            mostly_new = False  # whether the last chunk written created most of its valid rows

            def read_ahead() -> None:
                # the next chunks are checked and built in the worker processes while this one is written: their
                # rows are only counted as processed by the commit that writes them, so a kill still resumes exactly
                while len(ahead) < AHEAD and (batch := list(islice(lines, self.chunk))):
                    ahead.append(asyncio.ensure_future(self._prepared(batch, spec, mostly_new)))

            read_ahead()
            try:
                while ahead:
                    prepared = await ahead.popleft()
                    read_ahead()
                    created = await self._commit_chunk(prepared, spec)
                    mostly_new = 2 * created > len(prepared.checked.valid)
                    done += prepared.checked.size
                    log.info("import %s: %d of %s rows", import_id, done, job.total)
            finally:  # stopped before the end (an error, a shutdown): what was read ahead is dropped
                for future in ahead:
                    if not future.cancel() and not future.cancelled():
                        future.exception()  # its failure, if any, is not the one to report: the first chunk's is
        except (UnreadableFile, LimitExceeded) as exc:
            await self._finish(import_id, "failed", str(exc))
            return
        except InvalidTag:
            await self._finish(import_id, "failed", "the stored file cannot be opened with this service's key")
            return
        await self._finish(import_id, "done", None)

    async def _prepared(self, lines: list[bytes], job: ImportJob, mostly_new: bool) -> Prepared:
        """A chunk checked, and the rows of its persons built, in the worker processes (imports/ready.py).

        While the file's chunks are mostly new persons, every valid row is built with its check, in one call. Else
        only the rows not on record yet are built, so a list imported again costs its checks and no more: what is
        on record is asked outside the chunk's transaction, as a hint. Either way the chunk's own lookup decides.
        """
        if mostly_new:
            return await _in_worker(check_and_build, lines, job)
        checked = await _in_worker(check_lines, lines, job)
        async with self.engine.connect() as conn:
            known_rows, known_citizens = await known_keys(conn, checked.valid)
        at = [
            i
            for i, v in enumerate(checked.valid)
            if v.row_key not in known_rows and not (v.citizen_key and v.citizen_key in known_citizens)
        ]
        built = Built([], SealedRows([], []))
        if at:
            built = await _in_worker(build_rows, [checked.valid[i] for i in at], job)
        return Prepared(checked, {i: k for k, i in enumerate(at)}, built)

    async def _commit_chunk(self, prepared: Prepared, job: ImportJob) -> int:
        """Write a chunk and the import's progress in one transaction; how many persons it created."""
        for attempt in range(3):
            try:
                async with SqlUnitOfWork(self.engine) as uow:  # the chunk and the import's progress together
                    outcome = await write_chunk(uow, self.registry, prepared, job)
                    outcome.rejected[:0] = prepared.checked.rejected
                    await self._record_progress(uow.conn, job.import_id, prepared.checked.size, outcome)
                    await uow.commit()
                return outcome.created
            except IntegrityError:
                if attempt == 2:
                    raise
                log.info("import %s: a concurrent registration overlapped the chunk; retrying it", job.import_id)
        raise AssertionError("unreachable: the third attempt returns or raises")

    async def _record_progress(self, conn: AsyncConnection, import_id: str, rows: int, outcome: Outcome) -> None:
        await conn.execute(
            update(imports)
            .where(imports.c.import_id == import_id)
            .values(
                processed=imports.c.processed + rows,
                created=imports.c.created + outcome.created,
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


async def _in_worker(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a worker process; one that died is an error the worker retries, not a broken file."""
    try:
        return await in_process(fn, *args)
    except UnreadableFile as exc:  # the file itself was read, within the limits, when it was uploaded
        raise RuntimeError("a worker process stopped while checking an import; it is resumed") from exc


def _lines_after(data: bytes, count: int) -> Iterator[bytes]:
    """The packed rows of an import's file, past the first `count`."""
    lines = packed_lines(data)
    for _ in islice(lines, count):
        pass
    return lines
