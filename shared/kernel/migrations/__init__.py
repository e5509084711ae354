"""Schema migrations: Alembic revisions per service schema, applied at start-up under an advisory lock.

Each service schema holds the kernel's branch (shared/kernel/migrations/kernel/) and the service's own
(services/<name>/migrations/), and its own `alembic_version` table. A schema built by the hand-written
runner that came before (its `schema_migrations` ledger) is stamped at the revisions it already has.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.kernel.migrations.legacy import legacy_heads

HERE = Path(__file__).parent
KERNEL_MIGRATIONS = [HERE / "kernel"]  # the kernel's revisions, in every service schema


def lock_key(name: str) -> int:
    """A stable 32-bit advisory-lock key for a name."""
    return zlib.crc32(name.encode())


async def migrate(
    engine: AsyncEngine, schema: str, locations: Sequence[Path], targets: Sequence[str] = ("heads",)
) -> list[str]:
    """Upgrade `schema` to `targets` from the revisions in `locations`; concurrent callers wait on one lock."""
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(f"migrate:{schema}")})
        applied: list[str] = await conn.run_sync(_upgrade, schema, list(locations), list(targets))
    return applied


def config(conn: Connection, schema: str, locations: Sequence[Path]) -> Config:
    """Alembic's configuration for one schema, on a connection the caller holds (shared/kernel/migrations/env.py)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    cfg.attributes.update(connection=conn, schema=schema, applied=[])
    return cfg


def _upgrade(conn: Connection, schema: str, locations: list[Path], targets: list[str]) -> list[str]:
    cfg = config(conn, schema, locations)
    stamped = legacy_heads(conn, schema, ScriptDirectory.from_config(cfg))
    if stamped:
        command.stamp(cfg, stamped)
    for target in targets:
        command.upgrade(cfg, target)
    applied: Any = cfg.attributes["applied"]
    return [*(f"stamped {rev} (built by the old runner)" for rev in stamped), *applied]
