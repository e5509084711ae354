"""The live path: fold each event into the current generation, one stream's facts read and written back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, any_, bindparam, delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.facts import Facts, current
from services.reporting.fold import KIND, StreamFacts, empty, fold, source_of
from shared.kernel.events import Envelope

SWAP_LOCK = "reporting:generation-swap"
KNOWN_LOCK = "reporting:known-at"  # a submission's moment against the events delivered around it


async def hold(conn: AsyncConnection, lock: str, shared: bool = True) -> None:
    """Take the advisory lock `lock` until the transaction ends, in this schema's own key space.

    Advisory locks are database-wide, and one database may hold many reporting schemas (tests and benchmarks make
    throw-away ones): a long report read in one must not hold up another's swap.
    """
    take = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    await conn.execute(text(f"SELECT {take}(hashtextextended(current_schema() || ':' || :k, 0))"), {"k": lock})


async def on_event(conn: AsyncConnection, env: Envelope) -> None:
    """The live consumer's handler: apply to the current generation (a swap waits for this transaction)."""
    await hold(conn, SWAP_LOCK)
    await apply(conn, await current(conn), env)


async def on_events(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
    """The live consumer's batch handler: `on_event` for each of `envs`, with a few statements for all of them."""
    await hold(conn, SWAP_LOCK)
    await apply_many(conn, await current(conn), envs)


async def apply_many(conn: AsyncConnection, f: Facts, envs: Sequence[Envelope]) -> int:
    """Apply `envs`, in order, to generation `f`; returns how many were new (an event already applied is skipped).

    Each stream's facts are read once (one query per table for the whole batch), every event of the batch folded
    in memory, and the changed streams written back together: a catch-up of thousands of events costs a handful of
    statements per batch instead of a dozen per event. An unknown event type raises (poison), so
    the consumer retries the batch one event at a time and sets that event aside.
    """
    kinds = {env.event_id: KIND[source_of(env)] for env in envs}
    streams: dict[tuple[str, str], StreamFacts] = {}
    for kind in ("person", "case", "plan"):
        if ids := sorted({e.stream_id for e in envs if kinds[e.event_id] == kind}):
            stored = await load_many(conn, f, kind, ids)
            for stream_id in ids:
                streams[(kind, stream_id)] = stored.get(stream_id) or empty(kind, stream_id)
    applied: list[Envelope] = []
    changed: dict[tuple[str, str], StreamFacts] = {}
    for env in envs:
        key = (kinds[env.event_id], env.stream_id)
        if fold(streams[key], env):
            applied.append(env)
            changed[key] = streams[key]
    if not applied:
        return 0
    for kind in ("person", "case", "plan"):
        if group := [facts for (k, _), facts in changed.items() if k == kind]:
            await store_many(conn, f, kind, group)
    await conn.execute(insert(f.events).on_conflict_do_nothing(), [logged(env) for env in applied])
    await straggled_many(conn, applied)
    for source in sorted({source_of(env) for env in applied}):
        mine = [env for env in applied if source_of(env) == source]
        stmt = insert(f.topics).values(
            topic=source, events=len(mine), last_event_at=max(env.recorded_at for env in mine)
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["topic"],
                set_={
                    "events": f.topics.c.events + stmt.excluded.events,
                    "last_event_at": func.greatest(f.topics.c.last_event_at, stmt.excluded.last_event_at),
                },
            )
        )
    return len(applied)


async def apply(conn: AsyncConnection, f: Facts, env: Envelope) -> bool:
    """Apply one event to generation `f`; False when it was already applied. Unknown types raise (poison)."""
    return await apply_many(conn, f, [env]) == 1


async def straggled_many(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
    """Events recorded before a submission's moment but delivered after it (a lagging relay, a dead letter
    replayed days later) were not known to the submission: remember them, so the submission still reproduces.

    The submission holds KNOWN_LOCK exclusively while it reads the log and commits: an event is either in the log
    it read, or applied after its row is visible here.
    """
    await hold(conn, KNOWN_LOCK)
    await conn.execute(
        text(
            "INSERT INTO report_stragglers (submission_id, stream_id, version)"
            " SELECT s.submission_id, v.stream_id, v.version FROM report_submissions s"
            " JOIN unnest(CAST(:streams AS text[]), CAST(:versions AS int[]), CAST(:times AS timestamptz[]))"
            " AS v(stream_id, version, recorded_at) ON s.known_at >= v.recorded_at"
            " ON CONFLICT DO NOTHING"
        ),
        {
            "streams": [e.stream_id for e in envs],
            "versions": [e.stream_version for e in envs],
            "times": [e.recorded_at for e in envs],
        },
    )


def logged(env: Envelope) -> dict[str, Any]:
    """The row of the generation's event log for `env`: the envelope as published, and when it was recorded."""
    return {
        "stream_id": env.stream_id,
        "version": env.stream_version,
        "recorded_at": env.recorded_at,
        "envelope": env.model_dump(mode="json"),
    }


def _tables(f: Facts, kind: str) -> tuple[Any, Any, list[Any]]:
    """(main table, its key column, child tables) of a kind of stream."""
    if kind == "person":
        return f.persons, f.persons.c.person_id, [f.residences]
    if kind == "case":
        return f.cases, f.cases.c.case_id, [f.case_units, f.abscondments, f.case_planned_ends]
    return f.plans, None, []


async def load_many(conn: AsyncConnection, f: Facts, kind: str, stream_ids: Sequence[str]) -> dict[str, StreamFacts]:
    """The stored facts of those of `stream_ids` (all of `kind`) that have a row, a few statements for any number:
    the live path reads one stream with it, a rebuild every stream of a chunk it flushes."""
    table, key, children = _tables(f, kind)
    found: dict[str, StreamFacts] = {}
    if key is None:  # plans: keyed by (year, unit_code), which `empty` reads from the stream id
        of: dict[tuple[int, str], str] = {}
        for stream_id in stream_ids:
            blank = empty(kind, stream_id).row
            of[(blank["year"], blank["unit_code"])] = stream_id
        wanted = list(of)
        for start in range(0, len(wanted), 10_000):  # a statement takes at most 32,767 parameters
            where = tuple_(table.c.year, table.c.unit_code).in_(wanted[start : start + 10_000])
            for row in await conn.execute(select(table).where(where)):
                found[of[(row.year, row.unit_code)]] = StreamFacts(kind, dict(row._mapping))
        return found
    ids = bindparam("ids", type_=ARRAY(Text))
    for row in await conn.execute(select(table).where(key == any_(ids)), {"ids": list(stream_ids)}):
        found[row._mapping[key.name]] = StreamFacts(kind, dict(row._mapping))
    if not found:
        return found
    for child in children:
        column = child.c[key.name]
        query = select(child).where(column == any_(ids)).order_by(column, child.c.version)
        for r in await conn.execute(query, {"ids": list(found)}):
            item = dict(r._mapping)
            if kind == "case":
                item["table"] = child.name.split("_", 1)[1]
            found[item[key.name]].children.append(item)
    return found


async def clear_many(conn: AsyncConnection, f: Facts, kind: str, stream_ids: Sequence[str]) -> None:
    """Delete the stored facts of `stream_ids` (all of `kind`): what `store_many` replaces, for a rebuild that writes
    them again folded on, with COPY."""
    if not stream_ids:
        return
    table, key, children = _tables(f, kind)
    if key is None:
        wanted = [(r["year"], r["unit_code"]) for r in (empty(kind, i).row for i in stream_ids)]
        for start in range(0, len(wanted), 10_000):  # a statement takes at most 32,767 parameters
            await conn.execute(
                delete(table).where(tuple_(table.c.year, table.c.unit_code).in_(wanted[start : start + 10_000]))
            )
        return
    ids = bindparam("ids", type_=ARRAY(Text))
    for t in (table, *children):
        await conn.execute(delete(t).where(t.c[key.name] == any_(ids)), {"ids": list(stream_ids)})


async def store_many(conn: AsyncConnection, f: Facts, kind: str, group: Sequence[StreamFacts]) -> None:
    """Write back the facts of many streams of one kind: one upsert, and one delete and insert per child table."""
    table, key, children = _tables(f, kind)
    index = [key.name] if key is not None else ["year", "unit_code"]
    stmt = insert(table)
    columns = [c.name for c in table.c]
    upsert = stmt.on_conflict_do_update(
        index_elements=index, set_={c: stmt.excluded[c] for c in columns if c not in index}
    )
    await conn.execute(upsert, [{c: facts.row.get(c) for c in columns} for facts in group])
    for child in children:
        assert key is not None
        name = child.name.split("_", 1)[1]
        await conn.execute(delete(child).where(child.c[key.name].in_([facts.row[key.name] for facts in group])))
        rows = [_child_row(c) for facts in group for c in facts.children if c.get("table", name) == name]
        if rows:
            await conn.execute(insert(child), rows)


def _child_row(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "table"}


async def topic_status(conn: AsyncConnection, f: Facts) -> list[dict[str, Any]]:
    rows = await conn.execute(select(f.topics).order_by(f.topics.c.topic))
    return [{"source": r.topic, "events": r.events, "last_event_at": r.last_event_at} for r in rows]
