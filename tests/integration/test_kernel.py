"""The kernel's promises against real Kafka and PostgreSQL: no lost events, no double counts, order per stream."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.kernel.events import CommandContext, Envelope, Event, PendingEvent
from shared.kernel.eventstore import ConcurrencyError, EventStore
from shared.kernel.kafka import make_consumer
from shared.kernel.relay import OutboxRelay
from tests.integration.conftest import Stack, consuming, make_stack, record_applied
from tests.reliability.kafka_nodes import KafkaCluster, free_base_port
from tests.support.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


class Counted(Event):
    event_type = "counted"
    n: int


def pending(n: int) -> PendingEvent:
    return PendingEvent(event=Counted(n=n), occurred_on=date(2024, 3, 1), unit_code="07616")


async def append(stack: Stack, stream: str, expected: int, count: int = 1) -> list[Envelope]:
    store = EventStore(stack.topic)
    async with stack.engine.begin() as conn:
        return await store.append(
            conn, stream, expected, [pending(expected + i) for i in range(count)], CommandContext()
        )


async def test_two_concurrent_appends_at_the_same_version_one_wins(stack: Stack) -> None:
    await append(stack, "s-1", 0)
    barrier = asyncio.Barrier(2)
    store = EventStore(stack.topic)

    async def writer() -> str:
        async with stack.engine.begin() as conn:
            await store.version(conn, "s-1")
            await barrier.wait()
            await store.append(conn, "s-1", 1, [pending(1)], CommandContext())
        return "ok"

    results = await asyncio.gather(writer(), writer(), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["ConcurrencyError", "str"]
    assert await stack.scalar("SELECT count(*) FROM events WHERE stream_id = 's-1'") == 2
    with pytest.raises(ConcurrencyError):
        await append(stack, "s-1", 0)


@pytest.mark.timeout(600)
async def test_kafka_down_then_up_every_event_applied_once(tmp_path: Path) -> None:
    kafka = KafkaCluster(tmp_path / "kafka", 1, free_base_port())  # its own broker: the platform's stays up
    try:
        await kafka.start()
        async with make_stack(**kafka.overrides) as stack:
            kafka.kill()  # SIGKILL: the broker is gone before the first event is appended
            for i in range(100):
                await append(stack, f"s-{i}", 0, count=10)  # 1,000 events while Kafka is down
            relay = stack.relay()
            relay_task = asyncio.create_task(relay.run())
            await asyncio.sleep(2)  # on purpose: the relay gets 2 s to try, and nothing may leave the outbox
            assert await relay.backlog() == 1000  # nothing published, nothing lost
            await kafka.restart()
            await wait_for(lambda: _backlog_is(relay, 0), timeout=120, what="outbox drained")
            relay.stop()
            await relay_task
            published = await _topic_size(stack)  # what reached the wire, any redelivery included
            async with consuming(stack):
                await wait_for(lambda: _consumer_at_end(stack, published), timeout=120, what="consumer at the end")
            await _assert_each_applied_once(stack, streams=100, versions=10)
            applied, skipped = _consumed(stack)
            assert (applied, applied + skipped >= published) == (1000, True)  # a redelivery is skipped, never applied
    finally:
        kafka.close()


async def test_relay_killed_between_publish_and_mark_duplicates_counted_once(stack: Stack) -> None:
    for i in range(20):
        await append(stack, f"s-{i}", 0, count=5)
    env = {**os.environ, "TEST_SCHEMA": stack.schema, "REHAB_T_DSN": stack.settings.dsn()}
    proc = subprocess.run([sys.executable, "-m", "tests.integration.relay_crash"], env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    relay = stack.relay()
    assert await relay.backlog() == 100  # published, never marked
    while await relay.publish_batch():  # a new relay republishes all 100
        pass
    assert await _topic_size(stack) == 200  # every event is on the wire twice
    async with consuming(stack):
        await wait_for(lambda: _consumer_at_end(stack, 200))
    await _assert_each_applied_once(stack, streams=20, versions=5)
    applied, skipped = _consumed(stack)
    assert (applied, skipped >= 100) == (100, True)  # each of the 100 redeliveries recognised and skipped


async def test_poison_message_goes_to_dlq_and_consumption_continues(stack: Stack) -> None:
    async def picky(conn: AsyncConnection, env: Envelope) -> None:
        if env.payload["n"] == 1:
            raise ValueError("n=1 cannot be handled")
        await record_applied(conn, env)

    await append(stack, "s-a", 0, count=3)  # n = 0, 1, 2
    await append(stack, "s-b", 0, count=1)
    relay = stack.relay()
    while await relay.publish_batch():
        pass
    async with consuming(stack, picky):
        await wait_for(lambda: _count(stack, 3))
    dead = await _read_all(f"{stack.topic}.dlq", stack)
    assert len(dead) == 1
    headers = dict((k, v.decode()) for k, v in dead[0].headers)
    assert "n=1 cannot be handled" in headers["x-error"]
    assert headers["x-original-topic"] == stack.topic and headers["event-type"] == "counted"
    assert await stack.scalar("SELECT count(*) FROM dead_letters") == 1
    assert await stack.scalar("SELECT max(stream_version) FROM applied WHERE stream_id = 's-a'") == 3


async def test_order_per_stream_holds_with_several_writers_and_six_partitions(stack: Stack) -> None:
    streams = [f"order-{i}" for i in range(30)]

    async def writer(stream: str) -> None:
        for v in range(20):
            await append(stack, stream, v)

    relay = stack.relay()
    relay_task = asyncio.create_task(relay.run())
    async with consuming(stack):
        await asyncio.gather(*(writer(s) for s in streams))
        await wait_for(lambda: _count(stack, 600))
    relay.stop()
    await relay_task
    async with stack.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT stream_id, stream_version FROM applied ORDER BY seq"))).all()
    seen: dict[str, list[int]] = {}
    for stream_id, version in rows:
        seen.setdefault(stream_id, []).append(version)
    assert all(seen[s] == list(range(1, 21)) for s in streams)


async def _count(stack: Stack, n: int) -> bool:
    return await stack.scalar("SELECT count(*) FROM applied") >= n


def _consumed(stack: Stack) -> tuple[int, int]:
    """(events the consumer applied, redeliveries it recognised and skipped), from its own counters."""
    labels = {"consumer": f"{stack.schema}-consumer", "topic": stack.topic}
    applied = REGISTRY.get_sample_value("rehab_consumer_applied_total", labels) or 0
    skipped = REGISTRY.get_sample_value("rehab_consumer_duplicates_total", labels) or 0
    return int(applied), int(skipped)


async def _consumer_at_end(stack: Stack, total: int) -> bool:
    return sum(_consumed(stack)) >= total


async def _backlog_is(relay: OutboxRelay, n: int) -> bool:
    return await relay.backlog() == n


async def _assert_each_applied_once(stack: Stack, streams: int, versions: int) -> None:
    """Every stream's versions 1..`versions` applied exactly once each, nothing parked, nothing else."""
    async with stack.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT stream_id, stream_version FROM applied"))).all()
    per_stream: dict[str, list[int]] = {}
    for stream_id, version in rows:
        per_stream.setdefault(stream_id, []).append(version)
    assert len(per_stream) == streams
    assert all(sorted(v) == list(range(1, versions + 1)) for v in per_stream.values()), per_stream
    assert await stack.scalar("SELECT count(*) FROM dead_letters") == 0


async def _topic_size(stack: Stack) -> int:
    return len(await _read_all(stack.topic, stack))


async def _read_all(topic: str, stack: Stack) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = make_consumer(stack.settings, topic, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        out: list[ConsumerRecord[bytes, bytes]] = []
        while batch := await consumer.getmany(timeout_ms=1500):
            for records in batch.values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()
