"""The registry's use cases: load a Person, let it decide, then append, project and audit in one transaction."""

from __future__ import annotations

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
from shared.auth import Principal
from shared.clock import today
from shared.errors import Forbidden, NotFound
from shared.events import PendingEvent
from shared.eventstore import EventStore
from shared.ids import uuid7
from shared.ratelimit import AccountLimit
from shared.rules import RuleViolation
from shared.units import AdminUnits


@dataclass
class Registry:
    """The registry's application service, over one database connection per call."""

    store: EventStore
    units: AdminUnits
    vault: Vault
    lookups: AccountLimit | None = None  # identity lookups per account, shared by every replica

    async def load(self, conn: AsyncConnection, person_id: str, who: Principal) -> Person:
        """The person as of their last event; 404 when unknown or outside the caller's area (no leak)."""
        history = await self.store.load(conn, person_id)
        person = Person.from_history(person_id, ((REGISTRY_EVENTS.decode(e), e.occurred_on) for e in history))
        if person.version == 0 or not self.units.is_within(person.commune_code, who.unit):
            raise NotFound(f"no person {person_id} in your area ({who.unit})")
        return person

    def require_scope(self, who: Principal, commune_code: str) -> None:
        if not self.units.is_within(commune_code, who.unit):
            raise Forbidden(f"commune {commune_code} is outside your area ({who.unit})")

    async def register(self, conn: AsyncConnection, who: Principal, new: NewPerson) -> tuple[str, list[str]]:
        """Put a person on record; returns the new id and the ids of likely duplicates to review.

        Every check that needs no lookup comes first, so an invalid request never learns whether a citizen id
        is on record; the lookup itself is counted against the caller's identity lookups.
        """
        check_commune(self.units, new.commune_code, new.recorded_on)
        self.require_scope(who, new.commune_code)
        pending = Person.register(
            new.commune_code, new.status, new.source, new.sex, new.date_of_birth, new.recorded_on, today()
        )
        citizen_key = self.vault.citizen_key(new.citizen_id)
        if citizen_key is not None:
            await self.spend_lookup(who)
        await refuse_known_citizen(conn, self.units, who, citizen_key, new.commune_code)
        person_id = str(uuid7())
        sealed = await self.store.append(conn, person_id, 0, pending, who.context())
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

    async def determine(self, conn: AsyncConnection, who: Principal, person_id: str, body: DeterminationIn) -> int:
        person = await self.load(conn, person_id, who)
        pending = person.determine_addiction(body.result, body.facility, body.form_number, body.determined_on, today())
        await self._append(conn, who, person, pending, "determine", result=body.result)
        return person.version + 1

    async def move(self, conn: AsyncConnection, who: Principal, person_id: str, body: ResidenceChangeIn) -> int:
        person = await self.load(conn, person_id, who)
        check_commune(self.units, body.commune_code, body.moved_on)
        pending = person.change_residence(body.commune_code, body.moved_on, today())
        await self._append(conn, who, person, pending, "move", to_commune=body.commune_code)
        identity = await self.identity(conn, person_id)
        moved = identity.model_copy(update={"village": body.village})
        row = self.identity_row(person_id, moved, body.commune_code)
        await conn.execute(update(identities).where(identities.c.person_id == person_id).values(row))
        return person.version + 1

    async def merge(self, conn: AsyncConnection, who: Principal, survivor_id: str, duplicate_id: str, on: date) -> None:
        survivor = await self.load(conn, survivor_id, who)
        duplicate = await self.load(conn, duplicate_id, who)
        for_survivor, for_duplicate = survivor.merge(duplicate, on)
        kept, dropped = await self.identity(conn, survivor_id), await self.identity(conn, duplicate_id)
        if kept.citizen_id and dropped.citizen_id and kept.citizen_id != dropped.citizen_id:
            raise RuleViolation(
                "different_citizen_ids",
                "the two records carry different citizen ids, so they are two people; correct the wrong one first",
                "hai hồ sơ có số CCCD khác nhau nên là hai người khác nhau; hãy sửa hồ sơ sai trước",
            )
        await self._append(conn, who, duplicate, for_duplicate, "merge_closed", survivor_id=survivor_id)
        await self._append(conn, who, survivor, for_survivor, "merge_kept", duplicate_id=duplicate_id)
        if dropped.citizen_id and not kept.citizen_id:  # the survivor inherits the only known citizen id
            await conn.execute(
                update(identities).where(identities.c.person_id == duplicate_id).values(citizen_key=None)
            )
            row = self.identity_row(
                survivor_id, kept.model_copy(update={"citizen_id": dropped.citizen_id}), survivor.commune_code
            )
            await conn.execute(update(identities).where(identities.c.person_id == survivor_id).values(row))

    async def record_death(self, conn: AsyncConnection, who: Principal, person_id: str, died_on: date) -> None:
        person = await self.load(conn, person_id, who)
        await self._append(conn, who, person, person.record_death(died_on, today()), "record_death")

    async def identity(self, conn: AsyncConnection, person_id: str) -> Identity:
        sealed = await conn.scalar(select(identities.c.sealed).where(identities.c.person_id == person_id))
        if sealed is None:
            raise NotFound(f"no identity on file for person {person_id}")
        return self.vault.open(sealed)

    async def _append(
        self,
        conn: AsyncConnection,
        who: Principal,
        person: Person,
        pending: list[PendingEvent],
        action: str,
        **detail: object,
    ) -> None:
        sealed = await self.store.append(conn, person.person_id, person.version, pending, who.context())
        await project(conn, sealed)
        await audit.record(conn, who, action, person.person_id, sealed[-1].unit_code, **detail)
