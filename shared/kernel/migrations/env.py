"""Alembic's environment: the connection, schema and log come from shared.kernel.migrations.config."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo

_attributes = context.config.attributes


def _record(ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]) -> None:
    if not step.is_stamp:  # what service.py logs as applied
        _attributes["applied"].append(f"{step.up_revision_id} {getattr(step.up_revision, 'doc', '')}")


context.configure(
    connection=_attributes["connection"],
    version_table_schema=_attributes["schema"],  # one alembic_version per service schema
    on_version_apply=_record,
)
with context.begin_transaction():  # the caller's transaction, which holds the advisory lock
    context.run_migrations()
