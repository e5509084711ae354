"""The facts as they were known at a moment: every envelope recorded by then, folded again into temporary tables.

A report is computed on legal dates (`occurred_on`); what a report said when it was submitted also depends on
what had been recorded by then (`recorded_at`). The generation's event log keeps both times, so folding the
envelopes recorded up to a moment with the same `fold` as the live path gives the facts of that moment, after any
number of backdated events and after a rebuild (which refills the log from the topics). The tables are temporary
(dropped when the transaction ends) and named like a generation's, so `Reports` reads them unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, not_, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.apply import store_many
from services.reporting.facts import Facts, facts
from services.reporting.fold import KIND, StreamFacts, empty, fold, source_of
from services.reporting.rebuild import bulk_load
from services.reporting.tables import stragglers
from shared.kernel.events import Envelope

KNOWN_GENERATION = 1_000_000_000  # the temporary tables' number: no real generation gets this far


def _straggled(log: Any, submission_id: str | None) -> Any:
    """The log rows delivered after the submission `submission_id` although recorded before its moment."""
    late = select(stragglers.c.stream_id, stragglers.c.version).where(stragglers.c.submission_id == submission_id)
    return tuple_(log.c.stream_id, log.c.version).in_(late)


async def known_at(conn: AsyncConnection, live: Facts, moment: datetime, submission_id: str | None = None) -> Facts:
    """Temporary fact tables holding what `live`'s event log had recorded up to `moment` (inclusive), without
    the stragglers of `submission_id` (apply.straggled)."""
    temp = facts(KNOWN_GENERATION)
    for source, target in zip(live.all(), temp.all(), strict=True):
        await conn.execute(text(f'DROP TABLE IF EXISTS pg_temp."{target.name}"'))
        await conn.execute(
            text(f'CREATE TEMPORARY TABLE "{target.name}" (LIKE "{source.name}" INCLUDING ALL) ON COMMIT DROP')
        )
    log = live.events
    known = log.c.recorded_at <= moment
    if submission_id is not None:
        known = and_(known, not_(_straggled(log, submission_id)))
    rows = await conn.execute(select(log.c.envelope).where(known).order_by(log.c.stream_id, log.c.version))
    await bulk_load(conn, temp, folded(Envelope.model_validate(r.envelope) for r in rows))
    return temp


def folded(envelopes: Iterable[Envelope]) -> dict[str, StreamFacts]:
    """The facts of every stream among `envelopes` (in stream order), as the live path would have folded them."""
    state: dict[str, StreamFacts] = {}
    for env in envelopes:
        stream = state.get(env.stream_id)
        if stream is None:
            stream = state[env.stream_id] = empty(KIND[source_of(env)], env.stream_id)
        fold(stream, env)
    return state


async def later(
    conn: AsyncConnection, live: Facts, moment: datetime, submission_id: str | None = None
) -> dict[str, list[Envelope]]:
    """The envelopes unknown at `moment`: recorded after it, or stragglers of `submission_id`; by stream."""
    log = live.events
    unknown = log.c.recorded_at > moment
    if submission_id is not None:
        unknown = or_(unknown, _straggled(log, submission_id))
    rows = await conn.execute(select(log.c.envelope).where(unknown).order_by(log.c.stream_id, log.c.version))
    found: dict[str, list[Envelope]] = {}
    for r in rows:
        env = Envelope.model_validate(r.envelope)
        found.setdefault(env.stream_id, []).append(env)
    return found


async def with_stream_now(conn: AsyncConnection, live: Facts, temp: Facts, stream_id: str) -> None:
    """Replace one stream's facts in the temporary tables by its facts as known now (every envelope logged)."""
    log = live.events
    rows = await conn.execute(select(log.c.envelope).where(log.c.stream_id == stream_id).order_by(log.c.version))
    stream = folded(Envelope.model_validate(r.envelope) for r in rows)[stream_id]
    await store_many(conn, temp, stream.kind, [stream])


def stream_kind(envelopes: list[Envelope]) -> str:
    """person, case or plan."""
    return KIND[source_of(envelopes[0])]


def describe(env: Envelope) -> dict[str, Any]:
    """A late event as the changes list shows it: no payload (it may hold more than the report needs)."""
    return {
        "event_type": env.event_type,
        "stream_version": env.stream_version,
        "occurred_on": env.occurred_on.isoformat(),
        "recorded_at": env.recorded_at.isoformat(),
    }
