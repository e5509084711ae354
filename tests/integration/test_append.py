"""The one-statement append and the NOTIFY-woken relay against real PostgreSQL and Kafka.

A stale expected version is a ConcurrencyError whether the caller is behind the stream, ahead of it, or racing
another writer; events and outbox rows commit or roll back together; notes still land in event_notes; and a
relay that polls only every 5 s publishes a commit well within that, because the commit's NOTIFY wakes it.
A unit of work whose only write is its append sends it with the commit, alone; anything else it writes after
the append sends the append first, in the same transaction.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from sqlalchemy import text

from shared.kernel.events import CommandContext, Envelope, Event, PendingEvent, seal
from shared.kernel.eventstore import BULK_THRESHOLD, ConcurrencyError, EventStore, kafka_headers
from shared.kernel.kafka import make_producer
from shared.kernel.relay import OutboxRelay
from shared.kernel.uow import SqlUnitOfWork
from tests.integration.conftest import Stack
from tests.support.polling import wait_for

pytestmark = pytest.mark.integration
POLL = 5.0  # the relay's fallback poll in the wake-up tests: publication must come well before it


class Ticked(Event):
    event_type = "ticked"
    n: int


def pending(n: int, notes: dict[str, str] | None = None) -> PendingEvent:
    return PendingEvent(event=Ticked(n=n), occurred_on=date(2024, 3, 1), unit_code="07616", notes=notes or {})


async def append(stack: Stack, stream: str, expected: int, count: int = 1) -> list[Envelope]:
    """An append as a command makes it: in a unit of work, whose commit wakes the relay."""
    async with SqlUnitOfWork(stack.engine) as uow:
        sealed = await EventStore(stack.topic).append(
            uow.conn, stream, expected, [pending(i) for i in range(count)], CommandContext()
        )
        await uow.commit()
        return sealed


async def rows(stack: Stack, stream: str) -> tuple[int, int]:
    """How many events and outbox rows the stream has."""
    n_events = await stack.scalar(f"SELECT count(*) FROM events WHERE stream_id = '{stream}'")
    return n_events, await stack.scalar(f"SELECT count(*) FROM outbox WHERE key = '{stream}'")


@pytest.mark.parametrize("expected", [0, 1, 2])
async def test_an_expected_version_behind_the_stream_is_refused(stack: Stack, expected: int) -> None:
    await append(stack, "s", 0, count=3)
    with pytest.raises(ConcurrencyError) as refused:
        await append(stack, "s", expected)
    assert (refused.value.expected, refused.value.actual) == (expected, 3)
    assert await rows(stack, "s") == (3, 3)


@pytest.mark.parametrize(("stream", "expected"), [("s", 2), ("s", 9), ("new", 1)])
async def test_an_expected_version_ahead_of_the_stream_is_refused(stack: Stack, stream: str, expected: int) -> None:
    await append(stack, "s", 0)  # no key would collide: only the version check can refuse these
    with pytest.raises(ConcurrencyError) as refused:
        await append(stack, stream, expected, count=2)
    assert refused.value.actual == (1 if stream == "s" else 0)
    assert await rows(stack, stream) == ((1, 1) if stream == "s" else (0, 0))


async def test_of_concurrent_writers_at_one_version_exactly_one_wins(stack: Stack) -> None:
    await append(stack, "s", 0)
    barrier = asyncio.Barrier(6)

    async def writer() -> int:
        async with stack.engine.begin() as conn:
            await barrier.wait()
            return len(await EventStore(stack.topic).append(conn, "s", 1, [pending(1), pending(2)], CommandContext()))

    results = await asyncio.gather(*(writer() for _ in range(6)), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["ConcurrencyError"] * 5 + ["int"]
    assert await rows(stack, "s") == (3, 3)


@pytest.mark.parametrize("first_commits", [True, False])
async def test_a_writer_behind_an_uncommitted_append_waits_for_its_outcome(stack: Stack, first_commits: bool) -> None:
    await append(stack, "s", 0)
    store = EventStore(stack.topic)
    async with stack.engine.connect() as first:
        await store.append(first, "s", 1, [pending(1), pending(2)], CommandContext())  # v2, v3, not committed
        pid = (await first.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        second = asyncio.create_task(append(stack, "s", 1))  # its snapshot still says 1: it waits on the key
        await wait_for(lambda: _blocked_by(stack, pid), 10, 0.05, "second writer waiting on the first")
        await (first.commit() if first_commits else first.rollback())
    if first_commits:
        with pytest.raises(ConcurrencyError):
            await second
        assert await rows(stack, "s") == (3, 3)
    else:
        assert [e.stream_version for e in await second] == [2]
        assert await rows(stack, "s") == (2, 2)


@pytest.mark.parametrize("count", [3, BULK_THRESHOLD])
async def test_events_and_outbox_rows_commit_and_roll_back_together(stack: Stack, count: int) -> None:
    store = EventStore(stack.topic)
    with pytest.raises(RuntimeError):
        async with stack.engine.begin() as conn:
            await store.append(conn, "s", 0, [pending(i) for i in range(count)], CommandContext())
            raise RuntimeError("the command fails after its append")
    assert await rows(stack, "s") == (0, 0)
    sealed = await append(stack, "s", 0, count)
    async with stack.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT envelope::text FROM events ORDER BY stream_version"))).scalars()
        queued = (await conn.execute(text("SELECT value, headers::text AS headers FROM outbox ORDER BY id"))).all()
    assert [Envelope.model_validate_json(e) for e in stored] == sealed  # in order, the same envelope twice
    assert [bytes(q.value) for q in queued] == [e.to_json() for e in sealed]
    assert [json.loads(q.headers) for q in queued] == [kafka_headers(e) for e in sealed]


async def test_a_bulk_append_sealed_opening_its_transaction_still_rolls_back(stack: Stack) -> None:
    sealed = [seal(pending(0), f"p-{i}", 1, CommandContext()) for i in range(BULK_THRESHOLD)]
    with pytest.raises(RuntimeError):
        async with stack.engine.begin() as conn:
            await EventStore(stack.topic).append_sealed(conn, sealed)  # COPY as the transaction's first write
            raise RuntimeError("the import chunk fails")
    assert await stack.scalar("SELECT count(*) FROM events") == 0
    assert await stack.scalar("SELECT count(*) FROM outbox") == 0


async def test_an_append_with_notes_writes_them_beside_its_events(stack: Stack) -> None:
    async with stack.engine.begin() as conn:
        sealed = await EventStore(stack.topic).append(
            conn, "s", 0, [pending(0, {"reason": "chuyển nơi ở"}), pending(1)], CommandContext()
        )
    async with stack.engine.connect() as conn:
        notes = (await conn.execute(text("SELECT event_id, field, text FROM event_notes"))).all()
    assert [tuple(n) for n in notes] == [(sealed[0].event_id, "reason", "chuyển nơi ở")]
    assert await rows(stack, "s") == (2, 2)


async def test_the_relay_publishes_a_commit_without_waiting_for_its_poll(stack: Stack) -> None:
    relay = OutboxRelay(stack.engine, lambda: make_producer(stack.settings, "test-relay"), stack.schema, 200, POLL)
    task = asyncio.create_task(relay.run())
    try:
        await append(stack, "first", 0)  # published only once the leader listens, as it listens before it polls
        await wait_for(lambda: _all_published(stack), 30, 0.05, "first event published")
        for i in range(3):  # each time the relay is asleep for POLL seconds when the commit arrives
            started = asyncio.get_running_loop().time()
            await append(stack, f"woken-{i}", 0)
            await wait_for(lambda: _all_published(stack), POLL / 3, 0.02, "event published before the poll")
            assert asyncio.get_running_loop().time() - started < POLL / 3
    finally:
        relay.stop()
        await task


async def test_a_row_committed_without_a_notification_is_published_by_the_poll(stack: Stack) -> None:
    relay = OutboxRelay(stack.engine, lambda: make_producer(stack.settings, "test-relay"), stack.schema, 200, 0.5)
    task = asyncio.create_task(relay.run())
    env = seal(pending(0), "quiet", 1, CommandContext())
    try:
        async with stack.engine.begin() as conn:  # as if the notification were lost
            await conn.execute(
                text("INSERT INTO outbox (event_id, topic, key, value, headers) VALUES (:e, :t, 'quiet', :v, :h)"),
                {"e": env.event_id, "t": stack.topic, "v": env.to_json(), "h": json.dumps(kafka_headers(env))},
            )
        await wait_for(lambda: _all_published(stack), 30, 0.05, "unnotified row published")
    finally:
        relay.stop()
        await task


async def _all_published(stack: Stack) -> bool:
    return await stack.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def _blocked_by(stack: Stack, pid: int) -> bool:
    return await stack.scalar(f"SELECT count(*) FROM pg_stat_activity WHERE {pid} = ANY(pg_blocking_pids(pid))") > 0


class Statements:
    """The statements a connection sends the server, as asyncpg sees them (its simple and extended protocols)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import asyncpg.connection

        self.sent: list[str] = []
        execute, do_execute = asyncpg.connection.Connection.execute, asyncpg.connection.Connection._do_execute

        async def simple(conn: object, query: str, *args: object, **kw: object) -> object:
            self.sent.append(query.split()[0].rstrip(";").upper())
            return await execute(conn, query, *args, **kw)  # type: ignore[arg-type]

        async def extended(conn: object, query: str, *args: object, **kw: object) -> object:
            self.sent.append(query.split()[0].upper())
            return await do_execute(conn, query, *args, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(asyncpg.connection.Connection, "execute", simple)
        monkeypatch.setattr(asyncpg.connection.Connection, "_do_execute", extended)


async def test_a_lone_append_goes_with_the_commit_as_one_statement(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await append(stack, "warm", 0)  # the statement prepared, the types known
    seen = Statements(monkeypatch)
    async with SqlUnitOfWork(stack.engine) as uow:
        await EventStore(stack.topic).append(uow.conn, "lone", 0, [pending(1)], CommandContext())
        assert seen.sent == []  # held back until the commit
        await uow.commit()
    assert seen.sent[:1] == ["WITH"] and "BEGIN" not in seen.sent[:2]  # no BEGIN, no COMMIT round trips
    assert await rows(stack, "lone") == (1, 1)


async def test_a_statement_after_the_append_sends_it_first_in_one_transaction(stack: Stack) -> None:
    async with stack.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE after_append (stream TEXT, seen BIGINT)"))
    async with SqlUnitOfWork(stack.engine) as uow:
        await EventStore(stack.topic).append(uow.conn, "ordered", 0, [pending(1)], CommandContext())
        # the statement after it sees the append: it went first, in the same transaction
        await uow.conn.execute(
            text("INSERT INTO after_append SELECT 'ordered', count(*) FROM events WHERE stream_id = 'ordered'")
        )
    assert await rows(stack, "ordered") == (0, 0)  # not committed: both rolled back
    assert await stack.scalar("SELECT count(*) FROM after_append") == 0
    async with SqlUnitOfWork(stack.engine) as uow:
        await EventStore(stack.topic).append(uow.conn, "ordered", 0, [pending(1)], CommandContext())
        await uow.conn.execute(
            text("INSERT INTO after_append SELECT 'ordered', count(*) FROM events WHERE stream_id = 'ordered'")
        )
        await uow.commit()
    assert await rows(stack, "ordered") == (1, 1)
    assert await stack.scalar("SELECT seen FROM after_append") == 1


async def test_a_stale_lone_append_is_refused_at_the_commit_and_leaves_nothing(stack: Stack) -> None:
    await append(stack, "stale", 0)
    uow = SqlUnitOfWork(stack.engine)
    with pytest.raises(ConcurrencyError) as refused:
        async with uow:
            await EventStore(stack.topic).append(uow.conn, "stale", 0, [pending(2)], CommandContext())
            await uow.commit()
    assert (refused.value.expected, refused.value.actual) == (0, 1)
    assert await rows(stack, "stale") == (1, 1)


async def test_a_held_back_append_is_forgotten_by_a_rollback_and_by_the_pooled_connection(stack: Stack) -> None:
    async with SqlUnitOfWork(stack.engine) as uow:
        await EventStore(stack.topic).append(uow.conn, "forgotten", 0, [pending(1)], CommandContext())
    for _ in range(8):  # every pooled connection's next user: nothing of it is sent with their statements
        async with stack.engine.begin() as conn:
            await conn.execute(text("SELECT 1"))
    async with SqlUnitOfWork(stack.engine) as uow:
        await uow.conn.execute(text("SELECT 1"))
        await uow.commit()
    assert await rows(stack, "forgotten") == (0, 0)
