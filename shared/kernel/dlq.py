"""Dead-letter topics after a fix: list what is parked there, and replay it onto the original topic.

Replay publishes each parked message again with its original key (so per-stream order holds) and its
original headers; consumers are idempotent, so a message that did get applied after all is skipped. A
consumer group per dead-letter topic remembers what has been replayed: running replay twice sends nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiokafka.structs import OffsetAndMetadata, TopicPartition
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.base.settings import PlatformSettings
from shared.kernel.consumer import IdempotentConsumer, Record
from shared.kernel.kafka import dlq_topic, make_consumer, make_producer, partitions_of, read_to_end
from shared.kernel.store_schema import dead_letters

REPLAY_GROUP = "rehab-dlq-replay"


@dataclass(frozen=True)
class Parked:
    """One message in a dead-letter topic."""

    partition: int
    offset: int
    original_topic: str
    consumer: str
    error: str
    replayed: bool


async def _scan(settings: PlatformSettings, topic: str, visit: Callable[..., object] | None = None) -> list[Parked]:
    dlq = dlq_topic(topic)
    consumer = make_consumer(
        settings,
        group_id=f"{REPLAY_GROUP}.{dlq}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    parked: list[Parked] = []
    try:
        partitions = await partitions_of(settings, dlq)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        done = {tp: (await consumer.committed(tp)) or 0 for tp in partitions}
        await consumer.seek_to_beginning(*partitions)
        async for tp, messages in read_to_end(consumer, partitions, ends):
            for m in messages:
                headers = {k: v.decode(errors="replace") for k, v in m.headers or ()}
                replayed = m.offset < done[tp]
                parked.append(
                    Parked(
                        tp.partition,
                        m.offset,
                        headers.get("x-original-topic", topic),
                        headers.get("x-consumer", "?"),
                        headers.get("x-error", "?"),
                        replayed,
                    )
                )
                if visit is not None and not replayed:
                    await visit(m, headers)  # type: ignore[misc]
        progress = {tp: OffsetAndMetadata(ends[tp], "") for tp in partitions if ends[tp] > done[tp]}
        if visit is not None and progress:
            await consumer.commit(progress)
    finally:
        await consumer.stop()
    return parked


async def list_parked(settings: PlatformSettings, topic: str) -> list[Parked]:
    """Every message in `topic`'s dead-letter topic, marked replayed or not."""
    return await _scan(settings, topic)


async def replay(settings: PlatformSettings, topic: str) -> int:
    """Publish every not-yet-replayed message of `topic`'s dead-letter topic onto its original topic, once."""
    producer = make_producer(settings, "rehab-dlq-replay")
    await producer.start()
    sent = 0
    seen: set[tuple[str, str, str]] = set()

    async def send(message: object, headers: dict[str, str]) -> None:
        nonlocal sent
        original = headers.get("x-original-topic", topic)
        # Every consumer that failed on a message parked its own copy; one replay reaches them all.
        where = (original, headers.get("x-original-partition", "?"), headers.get("x-original-offset", "?"))
        if "?" not in where and where in seen:
            return
        seen.add(where)
        kept = [(k, v.encode()) for k, v in headers.items() if not k.startswith("x-")]
        kept.append(("x-replayed-from", f"{dlq_topic(topic)}:{message.partition}:{message.offset}".encode()))  # type: ignore[attr-defined]
        await producer.send_and_wait(original, message.value, key=message.key, headers=kept)  # type: ignore[attr-defined]
        sent += 1

    try:
        await _scan(settings, topic, send)
    finally:
        await producer.stop()
    return sent


async def parked_in(engine: AsyncEngine, limit: int = 200) -> list[dict[str, object]]:
    """The messages this service's consumers set aside and have not applied since, newest first (the ops page)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(dead_letters)
            .where(dead_letters.c.resolved_at.is_(None))
            .order_by(dead_letters.c.dead_at.desc())
            .limit(limit)
        )
        return [
            {
                "consumer": r.consumer,
                "topic": r.topic,
                "partition": r.kafka_partition,
                "offset": r.kafka_offset,
                "event_id": str(r.event_id) if r.event_id else None,
                "stream_id": r.stream_id,
                "error": r.error[:500],
                "dead_at": r.dead_at.isoformat(),
            }
            for r in rows
        ]


async def reapply_parked(
    settings: PlatformSettings, engine: AsyncEngine, consumers: Mapping[str, IdempotentConsumer], timeout: float = 10
) -> dict[str, int]:
    """Apply again, through the consumer that set it aside, every message still parked in this service (after a fix).

    The message is read again from its original topic at its partition and offset (the service reads that topic
    already; no group, nothing committed) and handed to its consumer marked as a replay: the consumer applies an
    event it parked even though its stream has moved on, marks it resolved, and parks it again if it fails again.
    Nothing is published, so no service needs the right to write another's topic. A malformed message (no event)
    cannot be applied: it stays parked.
    """
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(dead_letters)
                .distinct(dead_letters.c.consumer, dead_letters.c.event_id)  # parked again: one row per attempt
                .where(
                    dead_letters.c.resolved_at.is_(None),
                    dead_letters.c.event_id.is_not(None),
                    dead_letters.c.consumer.in_(list(consumers)),
                )
                .order_by(dead_letters.c.consumer, dead_letters.c.event_id, dead_letters.c.id)
            )
        ).all()
    counts = {"reapplied": 0, "failed_again": 0, "parked": len(rows)}
    if not rows:
        return counts
    reader = make_consumer(settings, enable_auto_commit=False, client_id="rehab-dlq-reapply")
    await reader.start()
    try:
        for row in rows:
            where = TopicPartition(row.topic, row.kafka_partition)
            reader.assign([where])
            reader.seek(where, row.kafka_offset)
            message = await asyncio.wait_for(reader.getone(where), timeout)
            headers = (*tuple(message.headers or ()), ("x-replayed-from", f"dead_letters:{row.id}".encode()))
            record = Record(
                message.topic, message.partition, message.offset, message.key, message.value or b"", headers
            )
            result = await consumers[row.consumer].process([record])
            counts["reapplied"] += result.applied
            counts["failed_again"] += result.dead
    finally:
        await reader.stop()
    return counts
