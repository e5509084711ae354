"""What the registry's commands read and write beside the events, in PostgreSQL: identities, `persons`, the trail.

The commands see it through `RegistryRecords` (services/registry/commands.py), so their tests can hold the same
records in memory (tests/support/memory_registry.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry import audit
from services.registry.dedupe import Holder
from services.registry.projection import project
from services.registry.tables import identities, persons
from shared.kernel.events import Envelope
from shared.runtime.auth import Principal


class SqlRecords:
    """The registry's identity rows, its `persons` read model and its audit trail, in the command's transaction."""

    async def holder_of(self, conn: AsyncConnection, citizen_key: str) -> Holder | None:
        """Who the citizen id is on record for, the commune they are managed in now and when it was recorded."""
        found = (
            await conn.execute(
                select(identities.c.person_id, persons.c.commune_code, persons.c.unit_on)
                .outerjoin(persons, persons.c.person_id == identities.c.person_id)
                .where(identities.c.citizen_key == citizen_key)
            )
        ).first()
        return None if found is None else (str(found.person_id), found.commune_code, found.unit_on)

    async def add_identity(self, conn: AsyncConnection, row: dict[str, object]) -> None:
        """Insert a person's identity row (IntegrityError when its citizen key is taken)."""
        await conn.execute(identities.insert(), [row])

    async def sealed_identity(self, conn: AsyncConnection, person_id: str) -> bytes | None:
        sealed: bytes | None = await conn.scalar(select(identities.c.sealed).where(identities.c.person_id == person_id))
        return sealed

    async def update_identity(self, conn: AsyncConnection, person_id: str, values: dict[str, object]) -> None:
        await conn.execute(update(identities).where(identities.c.person_id == person_id).values(values))

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

    async def project(self, conn: AsyncConnection, sealed: Sequence[Envelope]) -> None:
        await project(conn, sealed)

    async def audit(
        self,
        conn: AsyncConnection,
        who: Principal,
        action: str,
        person_id: str | None,
        unit_code: str | None,
        **detail: Any,
    ) -> None:
        await audit.record(conn, who, action, person_id, unit_code, **detail)
