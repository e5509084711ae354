"""The registry's use cases: load a Person through the repository, let it decide, save, project and audit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from services.registry import steps
from services.registry.communes import check_commune
from services.registry.dedupe import Holder, refuse_known_citizen
from services.registry.domain.events import REGISTRY_EVENTS
from services.registry.domain.person import Person
from services.registry.policy import Action, authorize
from services.registry.records import SqlRecords
from services.registry.schemas import NewPerson, ResidenceChangeIn
from services.registry.steps import Step
from services.registry.vault import Identity, Vault
from shared.kernel.clock import today
from shared.kernel.events import Envelope, PendingEvent
from shared.kernel.ids import uuid7
from shared.kernel.repository import EventStorePort, Repository
from shared.kernel.rules import RuleViolation
from shared.kernel.uow import UnitOfWork
from shared.runtime.auth import Principal, refuse_if_abolished, sees
from shared.runtime.errors import Forbidden, NotFound
from shared.vn.units import AdminUnits


class LookupLimit(Protocol):
    """Identity lookups per account (PostgreSQL: shared.runtime.ratelimit.AccountLimit); 429 past the limit."""

    async def spend(self, account: str) -> None: ...


class RegistryRecords(Protocol):
    """What a command reads and writes beside the events (PostgreSQL: records.SqlRecords; tests: in memory)."""

    async def holder_of(self, conn: Any, citizen_key: str) -> Holder | None: ...

    async def add_identity(self, conn: Any, row: dict[str, object]) -> None: ...

    async def sealed_identity(self, conn: Any, person_id: str) -> bytes | None: ...

    async def update_identity(self, conn: Any, person_id: str, values: dict[str, object]) -> None: ...

    async def likely_duplicates(self, conn: Any, person_id: str) -> list[str]: ...

    async def project(self, conn: Any, sealed: Sequence[Envelope]) -> None: ...

    async def audit(
        self, conn: Any, who: Principal, action: str, person_id: str | None, unit_code: str | None, **detail: Any
    ) -> None: ...


def person_of(person_id: str, history: Sequence[Envelope]) -> Person:
    """The aggregate as of its last event."""
    return Person.from_history(person_id, ((REGISTRY_EVENTS.decode(e), e.occurred_on) for e in history))


@dataclass
class Registry:
    """The registry's application service; every method runs inside the caller's unit of work."""

    store: EventStorePort
    units: AdminUnits
    vault: Vault
    lookups: LookupLimit | None = None  # identity lookups per account, shared by every replica
    records: RegistryRecords = field(default_factory=SqlRecords)
    clock: Callable[[], date] = today

    @property
    def repository(self) -> Repository[Person]:
        return Repository(self.store, person_of)

    async def load(self, uow: UnitOfWork, person_id: str, who: Principal) -> Person:
        """The person as of their last event; 404 when unknown or outside the caller's area (no leak).

        The area is today's: a person registered in a commune merged on 2025-07-01 is its successor's.
        """
        person = (await self.repository.load(uow, person_id)).aggregate
        if person.version == 0 or not self.sees(who, person.commune_code, person.commune_on):
            raise NotFound(f"no person {person_id} in your area ({who.unit})")
        return person

    def sees(self, who: Principal, commune_code: str, recorded_on: date | None) -> bool:
        """The area check in time (shared.runtime.auth.sees) of a commune code recorded on `recorded_on`."""
        return recorded_on is not None and sees(who, self.units, commune_code, recorded_on)

    def refuse_if_abolished(self, who: Principal, legal_date: date) -> None:
        """403 naming the successors for an abolished unit's account recording a fact dated after the reform."""
        refuse_if_abolished(who, self.units, legal_date)

    def require_scope(self, who: Principal, commune_code: str, recorded_on: date) -> None:
        if not self.sees(who, commune_code, recorded_on):
            raise Forbidden(f"commune {commune_code} is outside your area ({who.unit})")

    async def register(self, uow: UnitOfWork, who: Principal, new: NewPerson) -> tuple[str, list[str]]:
        """Put a person on record; returns the new id and the ids of likely duplicates to review.

        Every check that needs no lookup comes first, so an invalid request never learns whether a citizen id
        is on record; the lookup itself is counted against the caller's identity lookups.
        """
        authorize(who, Action.REGISTER)
        self.refuse_if_abolished(who, new.recorded_on)
        check_commune(self.units, new.commune_code, new.recorded_on)
        self.require_scope(who, new.commune_code, new.recorded_on)
        pending = Person.register(
            new.commune_code, new.status, new.source, new.sex, new.date_of_birth, new.recorded_on, self.clock()
        )
        conn = uow.conn
        citizen_key = self.vault.citizen_key(new.citizen_id)
        if citizen_key is not None:
            await self.spend_lookup(who)
            refuse_known_citizen(await self.records.holder_of(conn, citizen_key), self.units, who, new.commune_code)
        person_id = str(uuid7())
        sealed = await self.repository.save(uow, person_id, 0, pending, who.context())
        identity = Identity(
            full_name=new.full_name, date_of_birth=new.date_of_birth, citizen_id=new.citizen_id, village=new.village
        )
        try:
            async with conn.begin_nested():
                await self.records.add_identity(conn, self.vault.identity_row(person_id, identity, new.commune_code))
        except IntegrityError:  # a concurrent registration won the race
            if citizen_key is not None:
                holder = await self.records.holder_of(conn, citizen_key)
                refuse_known_citizen(holder, self.units, who, new.commune_code)
            raise
        await self.records.project(conn, sealed)
        await self.records.audit(conn, who, "register", person_id, new.commune_code, source=new.source)
        return person_id, await self.likely_duplicates(conn, person_id)

    async def spend_lookup(self, who: Principal) -> None:
        """Count one lookup by citizen id against the caller's account (429 past the limit)."""
        if self.lookups is not None:
            await self.lookups.spend(who.sub)

    async def likely_duplicates(self, conn: Any, person_id: str) -> list[str]:
        """Open records with the same folded name, date of birth and commune, which `merge` can resolve."""
        return await self.records.likely_duplicates(conn, person_id)

    async def run(self, uow: UnitOfWork, who: Principal, person_id: str, step: Step, body: Any) -> int:
        """One declared step on a person on record: authorize its action, load, decide, save; the new version."""
        authorize(who, step.action)
        self.refuse_if_abolished(who, step.legal_date(body))
        person = await self.load(uow, person_id, who)
        pending = step.decide(person, body, self.units, self.clock())
        sealed = await self._append(uow, who, person, pending, step.action.value, **step.detail(body))
        return sealed[-1].stream_version

    async def move(self, uow: UnitOfWork, who: Principal, person_id: str, body: ResidenceChangeIn) -> int:
        """The move step, then the identity re-keyed for the new commune and village."""
        version = await self.run(uow, who, person_id, steps.MOVE, body)
        identity = await self.identity(uow.conn, person_id)
        moved = identity.model_copy(update={"village": body.village})
        await self.records.update_identity(
            uow.conn, person_id, self.vault.identity_row(person_id, moved, body.commune_code)
        )
        return version

    async def merge(self, uow: UnitOfWork, who: Principal, survivor_id: str, duplicate_id: str, on: date) -> None:
        authorize(who, Action.MERGE)
        self.refuse_if_abolished(who, on)
        survivor = await self.load(uow, survivor_id, who)
        duplicate = await self.load(uow, duplicate_id, who)
        for_survivor, for_duplicate = survivor.merge(duplicate, on)
        conn = uow.conn
        kept, dropped = await self.identity(conn, survivor_id), await self.identity(conn, duplicate_id)
        if kept.citizen_id and dropped.citizen_id and kept.citizen_id != dropped.citizen_id:
            raise RuleViolation(
                "different_citizen_ids",
                "the two records carry different citizen ids, so they are two people; correct the wrong one first",
                "hai hồ sơ có số CCCD khác nhau nên là hai người khác nhau; hãy sửa hồ sơ sai trước",
            )
        await self._append(uow, who, duplicate, for_duplicate, "merge_closed", survivor_id=survivor_id)
        await self._append(uow, who, survivor, for_survivor, "merge_kept", duplicate_id=duplicate_id)
        if dropped.citizen_id and not kept.citizen_id:  # the survivor inherits the only known citizen id
            await self.records.update_identity(conn, duplicate_id, {"citizen_key": None})
            row = self.vault.identity_row(
                survivor_id, kept.model_copy(update={"citizen_id": dropped.citizen_id}), survivor.commune_code
            )
            await self.records.update_identity(conn, survivor_id, row)

    async def identity(self, conn: Any, person_id: str) -> Identity:
        sealed = await self.records.sealed_identity(conn, person_id)
        if sealed is None:
            raise NotFound(f"no identity on file for person {person_id}")
        return self.vault.open(sealed)

    async def _append(
        self,
        uow: UnitOfWork,
        who: Principal,
        person: Person,
        pending: list[PendingEvent],
        action: str,
        **detail: object,
    ) -> list[Envelope]:
        """Save what the person decided at the version read, project it and audit it, in the same unit of work."""
        sealed = await self.repository.save(uow, person.person_id, person.version, pending, who.context())
        await self.records.project(uow.conn, sealed)
        await self.records.audit(uow.conn, who, action, person.person_id, sealed[-1].unit_code, **detail)
        return sealed
