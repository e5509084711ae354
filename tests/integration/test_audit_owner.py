"""Issue 14, finding 5: the audit table belonged to the service's role, which could drop its triggers and rewrite it.

Set up as `make up` sets up a service (deploy/local/postgres): a login role without CREATEROLE that owns its
schema and runs the service's migrations itself. Connected as that role, the audit log takes an INSERT and a
SELECT, and refuses everything that would change history: UPDATE, DELETE, TRUNCATE, DROP TRIGGER, ALTER TABLE,
DROP TABLE, DROP SCHEMA, replacing the trigger function, taking the owner's role.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.cases.tables import MIGRATIONS as CASES
from services.registry.tables import MIGRATIONS as REGISTRY
from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.ids import uuid7
from shared.kernel.migrations import migrate
from shared.kernel.store_schema import KERNEL_MIGRATIONS
from shared.runtime.audit import record, record_shown
from shared.runtime.auth import Principal, Role
from tests.support.services import owner_dsn

pytestmark = pytest.mark.integration
ATTACKS = [
    "UPDATE audit_log SET sub = 'someone-else'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "DROP TRIGGER audit_no_update ON audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "ALTER TABLE audit_log ADD COLUMN note TEXT",
    "ALTER TABLE audit_log OWNER TO CURRENT_USER",
    "DROP TABLE audit_log",
    "DROP SCHEMA {schema} CASCADE",
    "CREATE OR REPLACE FUNCTION rehab_audit.refuse_change() RETURNS trigger LANGUAGE sql AS 'SELECT NULL'",
    "SET ROLE audit_owner",
    "GRANT audit_owner TO CURRENT_USER",
]
READER = Principal(sub="can-bo", role=Role.DISTRICT_OFFICER, unit="220")


@pytest.fixture
async def service_role() -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A role and schema made as deploy/local/postgres makes a service's: LOGIN, owner of its schema, no more."""
    name = f"svc_{uuid7().hex[-10:]}"
    settings = ServiceSettings()
    admin = make_engine(owner_dsn(settings), "public", 1)
    async with admin.begin() as conn:
        await conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD '{name}' NOSUPERUSER NOCREATEROLE"))
        await conn.execute(text(f"GRANT {name} TO CURRENT_USER"))  # rehab may then give it a schema, as bootstrap does
        await conn.execute(text(f"CREATE SCHEMA {name} AUTHORIZATION {name}"))
    dsn = f"postgresql+asyncpg://{name}:{name}@{settings.pg_host}:{settings.pg_port}/{settings.pg_database}"
    engine = make_engine(dsn, name, 2)
    try:
        yield name, engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:  # the owner (a member of audit_owner) may drop it
            await conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
            await conn.execute(text(f"DROP ROLE {name}"))
        await admin.dispose()


@pytest.mark.parametrize("migrations", [REGISTRY, CASES], ids=["registry", "cases"])
async def test_the_service_role_can_append_to_its_audit_log_and_never_rewrite_it(
    service_role: tuple[str, AsyncEngine], migrations: Sequence[Path]
) -> None:
    schema, engine = service_role
    await migrate(engine, schema, [*KERNEL_MIGRATIONS, *migrations])  # as the service does at start-up
    async with engine.begin() as conn:  # what the service writes: one entry, and a COPY of one per person shown
        await record(conn, READER, "read", str(uuid7()), "07616")
        await record_shown(conn, READER, "search", [(str(uuid7()), "07616", {})], "07616")
    for attack in ATTACKS:
        with pytest.raises(Exception, match=r"permission denied|must be owner|append-only|must have admin option"):
            async with engine.begin() as conn:
                await conn.execute(text(attack.format(schema=schema)))
    async with engine.connect() as conn:
        kept = (await conn.execute(text("SELECT count(*), min(sub), max(sub) FROM audit_log"))).one()
        owner = await conn.scalar(
            text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log' AND schemaname = :s"), {"s": schema}
        )
    assert tuple(kept) == (2, "can-bo", "can-bo") and owner == "audit_owner"
