"""Schema migrations: numbered SQL steps per component, applied once, in order, under an advisory lock."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class Migration:
    """One forward-only step; `sql` may hold several statements separated by semicolons."""

    component: str
    version: int
    description: str
    sql: str


_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component   TEXT NOT NULL,
    version     INT NOT NULL,
    description TEXT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)"""


def lock_key(name: str) -> int:
    """A stable 32-bit advisory-lock key for a name."""
    return zlib.crc32(name.encode())


async def migrate(engine: AsyncEngine, schema: str, migrations: Sequence[Migration]) -> list[str]:
    """Apply the missing steps; concurrent callers wait on one lock, so each step runs once."""
    applied_now: list[str] = []
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(f"migrate:{schema}")})
        await conn.execute(text(_LEDGER))
        done = {
            (row.component, row.version)
            for row in await conn.execute(text("SELECT component, version FROM schema_migrations"))
        }
        for step in sorted(migrations, key=lambda m: (m.component != "kernel", m.component, m.version)):
            if (step.component, step.version) in done:
                continue
            for statement in _statements(step.sql):
                await conn.execute(text(statement))
            await conn.execute(
                text("INSERT INTO schema_migrations (component, version, description) VALUES (:c, :v, :d)"),
                {"c": step.component, "v": step.version, "d": step.description},
            )
            applied_now.append(f"{step.component}:{step.version:03d} {step.description}")
    return applied_now


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";\n") if s.strip()]
