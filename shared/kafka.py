"""Kafka plumbing shared by the relay, consumers and health checks: clients, topics, reachability."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.settings import PlatformSettings

REGISTRY_TOPIC = "rehab.registry.events"
CASES_TOPIC = "rehab.cases.events"
QUOTAS_TOPIC = "rehab.quotas.events"
ALL_TOPICS = (REGISTRY_TOPIC, CASES_TOPIC, QUOTAS_TOPIC)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def make_producer(settings: PlatformSettings, client_id: str) -> AIOKafkaProducer:
    """A producer that loses nothing it acknowledged: acks from all in-sync replicas, idempotent, ordered."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        security_protocol=settings.kafka_security_protocol,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=15_000,
        retry_backoff_ms=200,
    )


async def ensure_topics(settings: PlatformSettings, topics: Iterable[str], partitions: int | None = None) -> None:
    """Create the topics (and their dead-letter topics) that do not exist yet."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, security_protocol=settings.kafka_security_protocol
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for topic in topics for t in (topic, dlq_topic(topic)) if t not in existing]
        if not wanted:
            return
        new = [
            NewTopic(
                name=t,
                num_partitions=partitions or settings.topic_partitions,
                replication_factor=settings.topic_replication,
                topic_configs=_topic_configs(settings),
            )
            for t in wanted
        ]
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new)
    finally:
        await admin.close()


async def delete_topics(settings: PlatformSettings, topics: Iterable[str]) -> None:
    """Delete topics and their dead-letter topics (benchmarks and tests clean up after themselves)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, security_protocol=settings.kafka_security_protocol
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for topic in topics for t in (topic, dlq_topic(topic)) if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def _topic_configs(settings: PlatformSettings) -> dict[str, str]:
    # Events are the source projections rebuild from: keep them forever.
    configs = {"retention.ms": "-1"}
    if settings.topic_replication > 1:  # acks=all then waits for this many copies: survives one broker lost
        configs["min.insync.replicas"] = str(min(settings.topic_min_insync_replicas, settings.topic_replication - 1))
    return configs


async def kafka_reachable(settings: PlatformSettings, timeout: float = 5.0) -> bool:
    """True when a broker answers a metadata request within `timeout` seconds."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        security_protocol=settings.kafka_security_protocol,
        request_timeout_ms=int(timeout * 1000),
    )
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.describe_cluster(), timeout)
        return True
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(admin.close(), timeout)


async def partitions_of(settings: PlatformSettings, topic: str) -> list[TopicPartition]:
    """Every partition of `topic` (a deployed name), as the cluster describes it."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, security_protocol=settings.kafka_security_protocol
    )
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [TopicPartition(topic, p["partition"]) for t in described for p in t["partitions"]]
