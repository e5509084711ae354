"""Schemas migrated by the hand-written runner that came before Alembic: which revisions they already have."""

from __future__ import annotations

from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, text


def legacy_heads(conn: Connection, schema: str, script: ScriptDirectory) -> list[str]:
    """Per branch, the last revision whose old step (its module's `replaces`) the ledger shows as applied."""
    exists = "SELECT to_regclass(:t) IS NOT NULL"
    if conn.scalar(text(exists), {"t": f'"{schema}".alembic_version'}):
        return []
    if not conn.scalar(text(exists), {"t": f'"{schema}".schema_migrations'}):
        return []
    rows = conn.execute(text(f'SELECT component, version FROM "{schema}".schema_migrations'))
    done = {f"{row.component}:{row.version}" for row in rows}
    heads = []
    for base in sorted(script.get_bases()):
        last = _last_done(script, script.get_revision(base), done)
        if last is not None:
            heads.append(last)
    # a service's branch depends on the kernel's: its head implies the kernel's, and alembic refuses both
    implied = {rev.revision for head in heads for rev in script.iterate_revisions(head, "base") if rev.revision != head}
    return [head for head in heads if head not in implied]


def _last_done(script: ScriptDirectory, rev: Script | None, done: set[str]) -> str | None:
    last = None
    while rev is not None and getattr(rev.module, "replaces", None) in done:
        last = rev.revision
        rev = script.get_revision(next(iter(rev.nextrev))) if len(rev.nextrev) == 1 else None
    return last
