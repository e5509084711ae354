"""The registry's use cases: load a Person through the repository, let it decide, save, project and audit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry import audit
from services.registry.communes import check_commune
from services.registry.dedupe import refuse_known_citizen
from services.registry.domain.events import REGISTRY_EVENTS
from services.registry.domain.person import Person
from services.registry.projection import project
from services.registry.schemas import DeterminationIn, NewPerson, ResidenceChangeIn
from services.registry.tables import identities, persons
from services.registry.vault import Identity, Vault
from shared.kernel.clock import today
from shared.kernel.events import Envelope, PendingEvent
from shared.kernel.ids import uuid7
from shared.kernel.repository import EventStorePort, Repository
from shared.kernel.rules import RuleViolation
from shared.kernel.uow import UnitOfWork
from shared.runtime.auth import Principal, in_scope, require_scope
from shared.runtime.errors import NotFound
from shared.runtime.ratelimit import AccountLimit
from shared.vn.units import AdminUnits


def person_of(person_id: str, history: Sequence[Envelope]) -> Person:
    """The aggregate as of its last event."""
    return Person.from_history(person_id, ((REGISTRY_EVENTS.decode(e), e.occurred_on) for e in history))


@dataclass
class Registry:
    """The registry's application service, over one database connection per call."""

    store: EventStorePort
    units: AdminUnits
    vault: Vault
    lookups: AccountLimit | None = None  # identity lookups per account, shared by every replica
    clock: Callable[[], date] = today

    @property
    def repository(self) -> Repository[Person]:
        return Repository(self.store, person_of)

    async def load(self, uow: UnitOfWork, person_id: str, who: Principal) -> Person:
        """The person as of their last event; 404 when unknown or outside the caller's area (no leak)."""
        person = (await self.repository.load(uow, person_id)).aggregate
        if person.version == 0 or not in_scope(who, person.commune_code, self.units):
            raise NotFound(f"no person {person_id} in your area ({who.unit})")
        return person

    def require_scope(self, who: Principal, commune_code: str) -> None:
        require_scope(who, commune_code, self.units, noun="commune")

    async def register(self, uow: UnitOfWork, who: Principal, new: NewPerson) -> tuple[str, list[str]]:
        """Put a person on record; returns the new id and the ids of likely duplicates to review.

        Every check that needs no lookup comes first, so an invalid request never learns whether a citizen id
        is on record; the lookup itself is counted against the caller's identity lookups.
        """
        check_commune(self.units, new.commune_code, new.recorded_on)
        self.require_scope(who, new.commune_code)
        pending = Person.register(
            new.commune_code, new.status, new.source, new.sex, new.date_of_birth, new.recorded_on, self.clock()
        )
        conn = uow.conn
        citizen_key = self.vault.citizen_key(new.citizen_id)
        if citizen_key is not None:
            await self.spend_lookup(who)
        await refuse_known_citizen(conn, self.units, who, citizen_key, new.commune_code)
        person_id = str(uuid7())
        sealed = await self.repository.save(uow, person_id, 0, pending, who.context())
        identity = Identity(
            full_name=new.full_name, date_of_birth=new.date_of_birth, citizen_id=new.citizen_id, village=new.village
        )
        try:
            async with conn.begin_nested():
                await conn.execute(identities.insert(), [self.identity_row(person_id, identity, new.commune_code)])
        except IntegrityError:  # a concurrent registration won the race
            await refuse_known_citizen(conn, self.units, who, citizen_key, new.commune_code)
            raise
        await project(conn, sealed)
        await audit.record(conn, who, "register", person_id, new.commune_code, source=new.source)
        return person_id, await self.likely_duplicates(conn, person_id)

    async def spend_lookup(self, who: Principal) -> None:
        """Count one lookup by citizen id against the caller's account (429 past the limit)."""
        if self.lookups is not None:
            await self.lookups.spend(who.sub)

    def identity_row(self, person_id: str, identity: Identity, commune_code: str) -> dict[str, object]:
        return {
            "person_id": person_id,
            "sealed": self.vault.seal(identity),
            "citizen_key": self.vault.citizen_key(identity.citizen_id),
            "match_key": self.vault.match_key(identity.full_name, identity.date_of_birth, commune_code),
            "name_keys": self.vault.name_keys(identity.full_name),
        }

    async def likely_duplicates(self, conn: AsyncConnection, person_id: str) -> list[str]:
        """Open records with the same folded name, date of birth and commune, which `merge` can resolve."""
        key = select(identities.c.match_key).where(identities.c.person_id == person_id).scalar_subquery()
        rows = await conn.execute(
            select(identities.c.person_id)
            .join(persons, persons.c.person_id == identities.c.person_id)
            .where(identities.c.match_key == key, identities.c.person_id != person_id, persons.c.merged_into.is_(None))
            .order_by(identities.c.person_id)
        )
        return [str(r.person_id) for r in rows]

    async def determine(self, uow: UnitOfWork, who: Principal, person_id: str, body: DeterminationIn) -> int:
        person = await self.load(uow, person_id, who)
        on = self.clock()
        pending = person.determine_addiction(body.result, body.facility, body.form_number, body.determined_on, on)
        await self._append(uow, who, person, pending, "determine", result=body.result)
        return person.version + 1

    async def move(self, uow: UnitOfWork, who: Principal, person_id: str, body: ResidenceChangeIn) -> int:
        person = await self.load(uow, person_id, who)
        check_commune(self.units, body.commune_code, body.moved_on)
        pending = person.change_residence(body.commune_code, body.moved_on, self.clock())
        await self._append(uow, who, person, pending, "move", to_commune=body.commune_code)
        conn = uow.conn
        identity = await self.identity(conn, person_id)
        moved = identity.model_copy(update={"village": body.village})
        row = self.identity_row(person_id, moved, body.commune_code)
        await conn.execute(update(identities).where(identities.c.person_id == person_id).values(row))
        return person.version + 1

    async def merge(self, uow: UnitOfWork, who: Principal, survivor_id: str, duplicate_id: str, on: date) -> None:
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
            await conn.execute(
                update(identities).where(identities.c.person_id == duplicate_id).values(citizen_key=None)
            )
            row = self.identity_row(
                survivor_id, kept.model_copy(update={"citizen_id": dropped.citizen_id}), survivor.commune_code
            )
            await conn.execute(update(identities).where(identities.c.person_id == survivor_id).values(row))

    async def record_death(self, uow: UnitOfWork, who: Principal, person_id: str, died_on: date) -> None:
        person = await self.load(uow, person_id, who)
        await self._append(uow, who, person, person.record_death(died_on, self.clock()), "record_death")

    async def identity(self, conn: AsyncConnection, person_id: str) -> Identity:
        sealed = await conn.scalar(select(identities.c.sealed).where(identities.c.person_id == person_id))
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
    ) -> None:
        """Save what the person decided at the version read, project it and audit it, in the same unit of work."""
        sealed = await self.repository.save(uow, person.person_id, person.version, pending, who.context())
        await project(uow.conn, sealed)
        await audit.record(uow.conn, who, action, person.person_id, sealed[-1].unit_code, **detail)
