"""Kafka plumbing: the one factory every client is built by (address and security), topics, reachability.

Every producer, consumer, admin client and FastStream broker of the system comes from here, so a security
setting (SASL mechanism, credentials, CA) read once from the settings reaches all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAuthorizationFailedError, for_code
from aiokafka.helpers import create_ssl_context
from aiokafka.structs import ConsumerRecord

from shared.base.settings import PlatformSettings

_TOPIC_ALREADY_EXISTS = 36

if TYPE_CHECKING:  # FastStream is imported by the functions that use it: a plain client (a rebuild worker) needs none
    from faststream.kafka import KafkaBroker
    from faststream.security import BaseSecurity


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def client_options(settings: PlatformSettings) -> dict[str, Any]:
    """The address and security options of an aiokafka client, from the settings."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"bootstrap_servers": settings.kafka_servers, "security_protocol": protocol}
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_username
        options["sasl_plain_password"] = settings.kafka_password.get_secret_value()
    if protocol.endswith("SSL"):  # verifies the broker's certificate and host name against this CA
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    return options


def make_producer(settings: PlatformSettings, client_id: str, **options: Any) -> AIOKafkaProducer:
    """A producer that loses nothing it acknowledged: acks from all in-sync replicas, idempotent, ordered."""
    defaults: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 15_000,
        "retry_backoff_ms": 200,
    }
    return AIOKafkaProducer(**client_options(settings), client_id=client_id, **{**defaults, **options})


def make_consumer(settings: PlatformSettings, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer (subscribed to `topics`, or none for manual assignment) with the settings' security."""
    return AIOKafkaConsumer(*topics, **client_options(settings), **options)


def make_admin(settings: PlatformSettings, **options: Any) -> AIOKafkaAdminClient:
    """An admin client with the settings' security."""
    return AIOKafkaAdminClient(**client_options(settings), **options)


def broker_security(settings: PlatformSettings) -> BaseSecurity | None:
    """The same security as FastStream wants it."""
    protocol = settings.kafka_security_protocol
    ssl = client_options(settings).get("ssl_context")
    from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

    if protocol.startswith("SASL_"):
        sasl = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}[
            settings.kafka_sasl_mechanism
        ]
        password = settings.kafka_password.get_secret_value()
        return sasl(settings.kafka_username, password, ssl_context=ssl, use_ssl=ssl is not None)
    return BaseSecurity(ssl_context=ssl, use_ssl=True) if ssl is not None else None


def make_broker(settings: PlatformSettings, **options: Any) -> KafkaBroker:
    """A FastStream broker (subscribers, the DLQ publisher) with the settings' address and security."""
    from faststream.kafka import KafkaBroker

    return KafkaBroker(settings.kafka_servers, security=broker_security(settings), **options)


async def ensure_topics(settings: PlatformSettings, topics: Iterable[str], partitions: int | None = None) -> None:
    """Create the topics (and their dead-letter topics) that do not exist yet."""
    admin = make_admin(settings)
    await admin.start()
    try:
        existing = set(await admin.list_topics())  # only the topics this user may describe
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
        response = await admin.create_topics(new)
        for topic, code, message in response.topic_errors:
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise for_code(code)(f"cannot create topic {topic} as {settings.kafka_username}: {message}")
    finally:
        await admin.close()


async def delete_topics(settings: PlatformSettings, topics: Iterable[str]) -> None:
    """Delete topics and their dead-letter topics (benchmarks and tests clean up after themselves)."""
    admin = make_admin(settings)
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


async def kafka_problem(settings: PlatformSettings, timeout: float = 5.0) -> str | None:
    """None when a broker answers a metadata request within `timeout` seconds, else what went wrong."""
    admin = make_admin(settings, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.describe_cluster(), timeout)
        return None
    except TimeoutError:
        return "no answer"
    except KafkaConnectionError as exc:  # the client hides why each address failed: a wrong password, say
        return await _login_problem(settings, timeout) or str(exc)
    except KafkaError as exc:
        return str(exc) or type(exc).__name__
    except Exception as exc:  # a refused TLS handshake, a broken SASL exchange: all mean "not usable"
        return f"{type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(admin.close(), timeout)


async def _login_problem(settings: PlatformSettings, timeout: float) -> str | None:
    options = client_options(settings)
    host, _, port = options.pop("bootstrap_servers")[0].rpartition(":")
    try:
        conn = await asyncio.wait_for(create_conn(host, int(port), **options), timeout)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    conn.close()
    return None


async def kafka_reachable(settings: PlatformSettings, timeout: float = 5.0) -> bool:
    """True when a broker answers a metadata request, with these credentials, within `timeout` seconds."""
    return await kafka_problem(settings, timeout) is None


async def partitions_of(settings: PlatformSettings, topic: str) -> list[TopicPartition]:
    """Every partition of `topic` (a deployed name), as the cluster describes it."""
    admin = make_admin(settings)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if any(t["error_code"] == TopicAuthorizationFailedError.errno for t in described):
        raise TopicAuthorizationFailedError(topic)  # not an empty topic: one this user may not see
    return [TopicPartition(topic, p["partition"]) for t in described for p in t["partitions"]]


async def read_to_end(
    consumer: AIOKafkaConsumer,
    partitions: Iterable[TopicPartition],
    ends: dict[TopicPartition, int] | None = None,
    **fetch: Any,
) -> AsyncIterator[tuple[TopicPartition, list[ConsumerRecord[Any, Any]]]]:
    """Batches of the assigned `partitions` from the consumer's positions up to `ends` (read now when not given).

    Records that arrive after the end offsets were read are left for the next reader: a replay, a scan or a
    test sees the topic as it was when it started. `fetch` goes to `getmany` (max_records, timeout_ms).
    """
    wanted = list(partitions)
    ends = ends if ends is not None else await consumer.end_offsets(wanted)
    pending = {tp for tp in wanted if await consumer.position(tp) < ends[tp]}
    fetch.setdefault("timeout_ms", 500)
    while pending:
        batch = await consumer.getmany(*pending, **fetch)
        for tp, messages in batch.items():
            yield tp, [m for m in messages if m.offset < ends[tp]]
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
