"""Bulk import of person lists: validated row by row, committed in chunks, resumable, idempotent.

Each chunk's persons, events, outbox rows, audit entries and the import's progress commit in one transaction,
so a process killed mid-file resumes after the last committed chunk and never creates a person twice. Every
row has a blind key over its content, so the same row imported again (same file or another) creates nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Text, any_, cast, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.registry import audit
from services.registry.commands import Registry
from services.registry.communes import check_commune
from services.registry.domain.person import Person
from services.registry.imports.parse import PersonList, RawRow
from services.registry.projection import project
from services.registry.schemas import NewPerson
from services.registry.tables import audit_log, identities, import_rows, imports
from services.registry.vault import Identity
from shared.auth import Principal
from shared.clock import today
from shared.db import copy_rows
from shared.events import CommandContext, Envelope, PendingEvent, seal
from shared.ids import uuid7
from shared.migrations import lock_key
from shared.rules import RuleViolation
from shared.tabular import UnreadableFile
from shared.units import fold

log = logging.getLogger("rehab.registry.imports")
CHUNK = 1000


@dataclass(frozen=True)
class Checked:
    """A row that passed validation, with the event it will produce and its dedupe keys."""

    raw: RawRow
    person: NewPerson
    pending: PendingEvent
    row_key: str
    citizen_key: str | None


@dataclass
class Outcome:
    """What one chunk did, to be added to the import's report."""

    created: list[tuple[RawRow, NewPerson, str]] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)


class ImportWorker:
    """Accepts uploaded lists and works through them in the background, one chunk per transaction."""

    def __init__(self, engine: AsyncEngine, registry: Registry, chunk: int = CHUNK) -> None:
        self.engine, self.registry, self.chunk = engine, registry, chunk
        self._wake = asyncio.Event()

    async def submit(
        self, who: Principal, filename: str, content: bytes, recorded_on: date, source: str, correlation_id: str
    ) -> str:
        """Check the file can be read and store it; processing starts at once in the background."""
        listing = PersonList(content)  # raises UnreadableFile before anything is stored
        total = sum(1 for _ in listing.rows())
        import_id = str(uuid7())
        async with self.engine.begin() as conn:
            await conn.execute(
                imports.insert().values(
                    import_id=import_id,
                    file_sha256=hashlib.sha256(content).hexdigest(),
                    filename=filename,
                    content=content,
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
        while True:
            try:
                pending = await self._unfinished()
                for import_id in pending:
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
                select(imports.c.import_id)
                .where(imports.c.status.in_(("queued", "running")))
                .order_by(imports.c.submitted_at)
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
        if job.status not in ("queued", "running"):
            return
        who = Principal.model_validate(job.actor)
        try:
            rows = list(PersonList(job.content).rows())
        except UnreadableFile as exc:
            await self._finish(import_id, "failed", str(exc))
            return
        await self._set(import_id, status="running")
        ctx = CommandContext(actor=who.actor(), correlation_id=job.correlation_id)
        done = job.processed
        while done < len(rows):
            chunk = rows[done : done + self.chunk]
            for attempt in range(3):
                try:
                    async with self.engine.begin() as conn:
                        outcome = await self._chunk(conn, chunk, who, ctx, job.recorded_on, job.source, import_id)
                        await self._record_progress(conn, import_id, len(chunk), outcome)
                    break
                except IntegrityError:
                    if attempt == 2:
                        raise
                    log.info("import %s: a concurrent registration overlapped the chunk; retrying it", import_id)
            done += len(chunk)
            log.info("import %s: %d of %d rows", import_id, done, len(rows))
        await self._finish(import_id, "done", None)

    async def _chunk(
        self,
        conn: AsyncConnection,
        chunk: list[RawRow],
        who: Principal,
        ctx: CommandContext,
        recorded_on: date,
        source: str,
        import_id: str,
    ) -> Outcome:
        outcome = Outcome()
        valid: list[Checked] = []
        for raw in chunk:
            checked, errors = self._validate(raw, who, recorded_on, source)
            if checked is None:
                outcome.rejected.append({"row": raw.number, "errors": errors})
            else:
                valid.append(checked)
        known_rows = await _existing(conn, import_rows.c.row_key, import_rows.c.person_id, [v.row_key for v in valid])
        known_citizens = await _existing(
            conn, identities.c.citizen_key, identities.c.person_id, [v.citizen_key for v in valid if v.citizen_key]
        )
        sealed: list[Envelope] = []
        vault_rows: list[dict[str, object]] = []
        key_rows: list[dict[str, object]] = []
        for checked in valid:
            raw, person, row_key, citizen_key = checked.raw, checked.person, checked.row_key, checked.citizen_key
            if row_key in known_rows or (citizen_key and citizen_key in known_citizens):
                outcome.duplicates += 1
                continue
            person_id = str(uuid7())
            sealed.append(seal(checked.pending, person_id, 1, ctx))
            identity = Identity(
                full_name=person.full_name,
                date_of_birth=person.date_of_birth,
                citizen_id=person.citizen_id,
                village=person.village,
            )
            vault_rows.append(self.registry.identity_row(person_id, identity, person.commune_code))
            key_rows.append({"row_key": row_key, "person_id": person_id, "import_id": import_id})
            known_rows[row_key] = person_id
            if citizen_key:
                known_citizens[citizen_key] = person_id
            outcome.created.append((raw, person, person_id))
        if sealed:
            await self.registry.store.append_sealed(conn, sealed)
            await copy_rows(conn, identities, vault_rows)
            await copy_rows(conn, import_rows, key_rows)
            await project(conn, sealed)
            await copy_rows(conn, audit_log, [_audit_row(who, e, ctx, import_id) for e in sealed])
            outcome.flagged = await self._likely_duplicates(conn, outcome, vault_rows)
        return outcome

    def _validate(
        self, raw: RawRow, who: Principal, recorded_on: date, source: str
    ) -> tuple[Checked | None, dict[str, str]]:
        values = {"recorded_on": recorded_on, "source": source, **raw.values}
        try:
            person = NewPerson.model_validate(values)
        except ValidationError as exc:
            errors: dict[str, str] = {}
            for err in exc.errors():
                name = ".".join(str(p) for p in err["loc"]) or "row"
                errors.setdefault(name, str(err["msg"]).removeprefix("Value error, "))
            return None, errors
        try:
            _check(self.registry, who, person)
            [pending] = Person.register(
                person.commune_code,
                person.status,
                person.source,
                person.sex,
                person.date_of_birth,
                person.recorded_on,
                today(),
            )
        except RuleViolation as exc:
            return None, {exc.field or "row": exc.message}
        vault = self.registry.vault
        return Checked(raw, person, pending, _row_key(vault.blind, person), vault.citizen_key(person.citizen_id)), {}

    async def _likely_duplicates(
        self, conn: AsyncConnection, outcome: Outcome, vault_rows: list[dict[str, object]]
    ) -> list[dict[str, Any]]:
        keys = sorted({str(r["match_key"]) for r in vault_rows})
        groups: dict[str, list[str]] = {}
        for key, person_id in await conn.execute(
            select(identities.c.match_key, identities.c.person_id).where(
                identities.c.match_key == any_(cast(keys, ARRAY(Text)))
            )
        ):
            groups.setdefault(key, []).append(str(person_id))
        flagged = []
        for (raw, _, person_id), vault_row in zip(outcome.created, vault_rows, strict=True):
            others = [p for p in groups.get(str(vault_row["match_key"]), []) if p != person_id]
            if others:
                flagged.append({"row": raw.number, "person_id": person_id, "likely_duplicates": sorted(others)})
        return flagged

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
        await self._set(import_id, status=status, error=error, finished_at=datetime.now(UTC))
        log.info("import %s %s%s", import_id, status, f": {error}" if error else "")


def _check(registry: Registry, who: Principal, person: NewPerson) -> None:
    check_commune(registry.units, person.commune_code, person.recorded_on)
    if not registry.units.is_within(person.commune_code, who.unit):
        raise RuleViolation(
            "outside_area",
            f"commune {person.commune_code} is outside your area ({who.unit})",
            f"xã {person.commune_code} nằm ngoài địa bàn của bạn ({who.unit})",
            kind="forbidden",
            field="commune_code",
        )


def _row_key(blind: Any, p: NewPerson) -> str:
    return str(
        blind(
            "row",
            fold(p.full_name),
            p.date_of_birth.isoformat(),
            p.sex,
            p.citizen_id or "",
            p.commune_code,
            fold(p.village or ""),
            p.status,
        )
    )


async def _existing(conn: AsyncConnection, key_col: Any, id_col: Any, keys: list[Any]) -> dict[str, str]:
    if not keys:
        return {}
    rows = await conn.execute(select(key_col, id_col).where(key_col == any_(cast(keys, ARRAY(Text)))))
    return {str(k): str(v) for k, v in rows}


def _audit_row(who: Principal, env: Envelope, ctx: CommandContext, import_id: str) -> dict[str, object]:
    return {
        "at": env.recorded_at,
        "sub": who.sub,
        "role": who.role.value,
        "unit": who.unit,
        "action": "register",
        "person_id": env.stream_id,
        "unit_code": env.unit_code,
        "detail": {"import_id": import_id, "source": "import"},
        "correlation_id": ctx.correlation_id,
    }
