"""The registry's records and identity-lookup limit in memory, for application-service tests without PostgreSQL.

Tables in the MemoryState (shared/kernel/memory.py): `identities` {person_id: row}, `persons` {person_id: Person},
`audit_log` {n: entry}. Rows are replaced, never changed in place, so a rolled-back unit of work leaves no trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.registry.commands import person_of
from services.registry.dedupe import _LOOKUPS_EXCEEDED, Holder
from shared.kernel.events import Envelope
from shared.kernel.memory import MemoryTransaction
from shared.runtime.audit import entry
from shared.runtime.auth import Principal
from shared.runtime.ratelimit import RateLimited


class MemoryRecords:
    """What services.registry.records.SqlRecords keeps in PostgreSQL, as dicts in the memory state."""

    async def holder_of(self, conn: MemoryTransaction, citizen_key: str) -> Holder | None:
        for person_id, row in conn.state.table("identities").items():
            if row["citizen_key"] == citizen_key:
                person = conn.state.table("persons").get(person_id)
                return (
                    (person_id, None, None) if person is None else (person_id, person.commune_code, person.commune_on)
                )
        return None

    async def add_identity(self, conn: MemoryTransaction, row: dict[str, object]) -> None:
        conn.state.table("identities")[str(row["person_id"])] = dict(row)

    async def sealed_identity(self, conn: MemoryTransaction, person_id: str) -> bytes | None:
        row = conn.state.table("identities").get(person_id)
        return None if row is None else row["sealed"]

    async def update_identity(self, conn: MemoryTransaction, person_id: str, values: dict[str, object]) -> None:
        table = conn.state.table("identities")
        if person_id in table:
            table[person_id] = table[person_id] | values

    async def likely_duplicates(self, conn: MemoryTransaction, person_id: str) -> list[str]:
        identities, persons = conn.state.table("identities"), conn.state.table("persons")
        key = identities[person_id]["match_key"] if person_id in identities else None
        return sorted(
            other
            for other, row in identities.items()
            if row["match_key"] == key and other != person_id and persons[other].merged_into is None
        )

    async def project(self, conn: MemoryTransaction, sealed: Sequence[Envelope]) -> None:
        """The `persons` row of each stream written: its aggregate as of its last event."""
        for stream_id in dict.fromkeys(e.stream_id for e in sealed):
            conn.state.table("persons")[stream_id] = person_of(stream_id, conn.state.streams[stream_id])

    async def audit(
        self,
        conn: MemoryTransaction,
        who: Principal,
        action: str,
        person_id: str | None,
        unit_code: str | None,
        **detail: Any,
    ) -> None:
        trail = conn.state.table("audit_log")
        trail[len(trail) + 1] = entry(who, action, person_id, unit_code, detail)


class MemoryLookups:
    """Identity lookups per account, `per_account` of them, then 429 as shared.runtime.ratelimit.AccountLimit."""

    def __init__(self, per_account: int = 1_000) -> None:
        self.per_account = per_account
        self.spent: dict[str, int] = {}

    async def spend(self, account: str) -> None:
        if self.spent.get(account, 0) >= self.per_account:
            raise RateLimited(_LOOKUPS_EXCEEDED.format(retry_after=60), 60)
        self.spent[account] = self.spent.get(account, 0) + 1
