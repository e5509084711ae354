"""Binds an IdempotentConsumer to a FastStream Kafka subscriber: batches in, commit after apply, DLQ out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.base.metrics import CONSUMER_LAG
from shared.kernel.consumer import BatchHandler, Handler, IdempotentConsumer, Record, TransientError

log = logging.getLogger("rehab.subscriber")


@dataclass(frozen=True)
class Subscription:
    """A named consumer of some topics; its name is also its Kafka group id and its position key."""

    name: str
    topics: tuple[str, ...]
    handler: Handler
    description: str = ""
    batch_handler: BatchHandler | None = None  # the handler for a whole batch, when the projection has one


def consumer_group(service: str, schema: str, subscription: str) -> str:
    """The Kafka group of a subscription: a service on another schema (tests, a copy) is another reader."""
    return subscription if schema == service else f"{subscription}.{schema}"


def kafka_sink(broker: KafkaBroker) -> Any:
    async def send(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        await broker.publish(value, topic=topic, key=key, headers=headers)

    return send


def attach(
    broker: KafkaBroker,
    engine: AsyncEngine,
    sub: Subscription,
    batch_size: int = 500,
    max_attempts: int = 3,
    group_id: str | None = None,
) -> IdempotentConsumer:
    """Register `sub` on `broker` (started later with the broker); returns the consumer it drives.

    The Kafka group defaults to the subscription's name; a service on a throw-away schema passes its own.
    """
    consumer = IdempotentConsumer(
        sub.name, engine, sub.handler, kafka_sink(broker), max_attempts=max_attempts, batch_handler=sub.batch_handler
    )
    backoff = {"seconds": 0.5}

    async def on_batch(body: Any, msg: KafkaMessage) -> None:
        raw: Sequence[Any] = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
        records = [Record(r.topic, r.partition, r.offset, r.key, r.value or b"", tuple(r.headers or ())) for r in raw]
        try:
            await consumer.process(records)
        except TransientError as exc:
            log.warning("%s: %s; redelivering in %.1fs", sub.name, exc, backoff["seconds"])
            await asyncio.sleep(backoff["seconds"])
            backoff["seconds"] = min(backoff["seconds"] * 2, 10.0)
            await msg.nack()
            return
        backoff["seconds"] = 0.5
        await msg.ack()
        _record_lag(sub.name, msg, raw)

    broker.subscriber(
        *sub.topics,
        group_id=group_id or sub.name,
        batch=True,
        max_records=batch_size,
        batch_timeout_ms=100,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw_body,
        title=sub.name,
        description=sub.description or None,
    )(on_batch)
    return consumer


async def _raw_body(msg: Any) -> Any:
    """Keep bytes as bytes: the kernel parses envelopes itself so a malformed one reaches the DLQ."""
    return None


def _record_lag(name: str, msg: KafkaMessage, raw: Sequence[Any]) -> None:
    kafka_consumer = getattr(msg, "consumer", None)
    if kafka_consumer is None or not hasattr(kafka_consumer, "highwater"):
        return
    last: dict[tuple[str, int], int] = {}
    for r in raw:
        last[(r.topic, r.partition)] = max(last.get((r.topic, r.partition), -1), r.offset)
    for (topic, partition), offset in last.items():
        high = kafka_consumer.highwater(TopicPartition(topic, partition))
        if high is not None:
            CONSUMER_LAG.labels(name, topic, str(partition)).set(max(high - offset - 1, 0))
