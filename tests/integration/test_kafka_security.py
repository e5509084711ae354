"""Kafka behind credentials and ACLs (issue 14, item 7): the attacks of the finding, against the real broker.

Before: anyone reaching port 9092 read every topic and could write a death or a move onto the registry's topic.
After: a client must log in (SASL/SCRAM-SHA-512), and each service's user may write only its own topic and the
dead-letter topics of what it consumes, and read only what it consumes (shared/runtime/kafka_access.py).
The write probes send a 2 MiB record, above the broker's 1 MiB message limit: the broker checks the ACL first,
so an allowed write is refused for its size (MessageSizeTooLargeError) and a forbidden one for the ACL
(TopicAuthorizationFailedError), and nothing is ever appended to a live topic.
"""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    MessageSizeTooLargeError,
    TopicAuthorizationFailedError,
)
from confluent_kafka import KafkaException
from confluent_kafka.admin import AclBinding
from pydantic import SecretStr

from services.topology import ALL_TOPICS, CASES_TOPIC, GRANTS, QUOTAS_TOPIC, REGISTRY_TOPIC, REPORTS_TOPIC
from shared.base.settings import ServiceSettings, local_kafka_password
from shared.kernel.kafka import (
    dlq_topic,
    ensure_topics,
    kafka_problem,
    make_admin,
    make_consumer,
    make_producer,
    partitions_of,
)
from shared.runtime.kafka_access import ALLOW, LITERAL, READ, TOPIC, apply_access, kafka_user
from shared.runtime.kafka_admin import acls_of, admin_client, create_acls, delete_acls, delete_users, set_passwords
from tests.reliability.kafka_nodes import KafkaCluster, free_base_port
from tests.support.polling import wait_for
from tests.support.services import isolated_topics

pytestmark = pytest.mark.integration

R, C, Q, P = REGISTRY_TOPIC, CASES_TOPIC, QUOTAS_TOPIC, REPORTS_TOPIC
EVERY_TOPIC = (R, C, Q, P, dlq_topic(R), dlq_topic(C), dlq_topic(Q), dlq_topic(P))
# Written out by hand from what each service does, not derived from the table under test.
WRITES = {
    "registry": {R},
    "cases": {C, dlq_topic(R)},
    "quotas": {Q},
    "reporting": {P} | {dlq_topic(t) for t in (R, C, Q)},
}
READS = {"registry": set(), "cases": {R}, "quotas": set(), "reporting": {R, C, Q}}
TOO_BIG = b"x" * (2 << 20)


def login(user: str, password: str, **settings: object) -> ServiceSettings:
    """The test platform's settings, logged in as `user`."""
    update = {"kafka_username": user, "kafka_password": SecretStr(password), **settings}
    return ServiceSettings().model_copy(update=update)


def as_service(service: str) -> ServiceSettings:
    """Logged in as the service's own user, with the password `make up` gives it."""
    user, password = kafka_user(service)
    return login(user, password.get_secret_value() if password else local_kafka_password(service))


async def records_readable(settings: ServiceSettings, topic: str) -> int:
    """Read `topic` from its start to its end as the settings' user; raises when the broker refuses."""
    partitions = await partitions_of(settings, topic)
    consumer = make_consumer(settings, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends, read = await consumer.end_offsets(partitions), 0
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            read += sum(len(batch) for batch in (await consumer.getmany(timeout_ms=1000)).values())
        for tp in partitions:  # an empty topic is read too: one fetch, answered or refused
            consumer.seek(tp, 0)
        await consumer.getmany(timeout_ms=500)
        return read
    finally:
        await consumer.stop()


async def test_a_client_without_credentials_can_neither_list_nor_read_topics() -> None:
    plain = ServiceSettings().model_copy(update={"kafka_security_protocol": "PLAINTEXT"})
    assert await kafka_problem(plain, timeout=5) is not None
    for client in (make_admin(plain), make_consumer(plain, ServiceSettings().topic(R))):
        with pytest.raises(KafkaConnectionError):
            await client.start()
        await (client.close() if hasattr(client, "close") else client.stop())
    assert await kafka_problem(ServiceSettings(), timeout=5) is None  # the same broker answers a logged-in admin


async def test_a_wrong_password_is_refused() -> None:
    admin = ServiceSettings()
    problem = await kafka_problem(login(admin.kafka_username, "not-the-password"), timeout=5)
    assert problem is not None and "invalid credentials" in problem, problem
    assert await kafka_problem(as_service("registry"), timeout=5) is None


async def test_the_admin_listener_lets_in_the_admin_alone() -> None:
    """deploy/local/kafka.sh's PLAIN door (it sets the admin's SCRAM password there) is shut to everyone else."""
    host, _, port = ServiceSettings().kafka_servers[0].rpartition(":")
    door = os.environ.get("REHAB_KAFKA_ADMIN_BOOTSTRAP", f"{host}:{int(port) + 2}")  # kafka.sh: controller + 1
    if await kafka_problem(ServiceSettings(kafka_bootstrap=door, kafka_sasl_mechanism="PLAIN"), timeout=5):
        pytest.skip(f"no ADMIN listener at {door}: a broker started before kafka.sh had one")
    user, password = kafka_user("registry")
    service = login(user, password.get_secret_value() if password else local_kafka_password("registry"))
    problem = await kafka_problem(service.model_copy(update={"kafka_bootstrap": door, "kafka_sasl_mechanism": "PLAIN"}))
    assert problem is not None and "SaslAuthenticationFailed" in problem, problem


async def test_an_admin_call_refused_its_login_fails_with_the_broker_s_reason() -> None:
    client = admin_client(login(ServiceSettings().kafka_username, "not-the-password"))
    with pytest.raises(KafkaException, match="invalid credentials"):  # not a timeout: librdkafka retries logins
        acls_of(client, "User:registry")
    # The caught traceback holds the client in a reference cycle: destroyed here, on this thread, not by a
    # collection librdkafka's own thread might trigger later (it aborts when it must destroy its own handle).
    del client
    gc.collect()


@pytest.mark.parametrize("service", sorted(WRITES))
async def test_each_service_may_write_only_its_topic_and_the_dead_letters_of_what_it_reads(service: str) -> None:
    settings = as_service(service)
    producer = make_producer(settings, f"test-acl-{service}", max_request_size=4 << 20)
    await producer.start()
    writable = set()
    try:
        for topic in EVERY_TOPIC:
            try:
                await producer.send_and_wait(settings.topic(topic), TOO_BIG, key=b"acl-probe")
                raise AssertionError(f"a {len(TOO_BIG)}-byte record was appended to {topic}")
            except MessageSizeTooLargeError:
                writable.add(topic)  # past the ACL, refused for its size only
            except TopicAuthorizationFailedError:
                pass
    finally:
        await producer.stop()
    assert writable == WRITES[service]


@pytest.mark.parametrize("service", sorted(READS))
async def test_each_service_may_read_only_what_it_consumes(service: str) -> None:
    settings, readable = as_service(service), set()
    for topic in EVERY_TOPIC:
        try:
            await records_readable(settings, settings.topic(topic))
            readable.add(topic)
        except TopicAuthorizationFailedError:
            pass
    assert readable == READS[service]


async def test_a_service_cannot_join_another_service_s_consumer_group() -> None:
    settings = as_service("cases")  # it may read the registry's topic, but not as the reporting projections
    consumer = make_consumer(settings, settings.topic(R), group_id="reporting-acl-probe", enable_auto_commit=False)
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            await consumer.start()  # it waits for its assignment, which the group coordinator refuses
    finally:
        await consumer.stop()


@pytest.fixture
async def own_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[KafkaCluster]:
    """A broker of the test's own, secured like the platform's, for tests that create and delete users.

    Kafka 4.1's ScramDelta can drop every SCRAM user at a restart once any user was deleted: a test that deletes
    users on the platform's broker would break `make up` at its next restart, so these tests never touch it.
    """
    cluster = KafkaCluster(tmp_path / "kafka", 1, free_base_port())
    try:
        await cluster.start()
        for name, value in cluster.env.items():
            monkeypatch.setenv(name, value)
        yield cluster
    finally:
        cluster.close()


async def test_the_access_table_converges_and_its_users_really_write_and_read(
    own_broker: KafkaCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On topics and users of its own: 3 + 5 + 3 + 9 ACLs, a stray one taken back, a real write and read."""
    async with isolated_topics("acl") as prefix:
        users = {s: f"{prefix}-{s}" for s in WRITES}
        for service, user in users.items():
            monkeypatch.setenv(f"REHAB_{service.upper()}_KAFKA_USERNAME", user)
            monkeypatch.setenv(f"REHAB_{service.upper()}_KAFKA_PASSWORD", f"{user}-password")
        admin = ServiceSettings(topic_prefix=prefix)
        await ensure_topics(admin, [admin.topic(t) for t in (*ALL_TOPICS, P)])
        client = admin_client(admin)
        try:
            assert await asyncio.to_thread(apply_access, GRANTS, admin) == {"added": 20, "removed": 0}
            stray = AclBinding(TOPIC, admin.topic(Q), LITERAL, f"User:{users['cases']}", "*", READ, ALLOW)
            create_acls(client, [stray])

            async def settled() -> bool:  # the broker's authorizer follows the controller's metadata log
                return sum(len(acls_of(client, f"User:{u}")) for u in users.values()) == 21

            await wait_for(settled, timeout=30)
            assert await asyncio.to_thread(apply_access, GRANTS, admin) == {"added": 0, "removed": 1}
            assert stray not in acls_of(client, f"User:{users['cases']}")

            registry = login(users["registry"], f"{users['registry']}-password", topic_prefix=prefix)
            producer = make_producer(registry, "test-acl-write")  # idempotent, as the relay's
            await producer.start()
            try:
                await producer.send_and_wait(registry.topic(R), b'{"probe": true}', key=b"acl-probe")
            finally:
                await producer.stop()
            cases = login(users["cases"], f"{users['cases']}-password", topic_prefix=prefix)
            assert await records_readable(cases, cases.topic(R)) == 1
            with pytest.raises(TopicAuthorizationFailedError):
                await records_readable(cases, cases.topic(Q))
        finally:
            for user in users.values():
                delete_acls(client, acls_of(client, f"User:{user}"))
            delete_users(client, users.values(), admin)


async def test_a_new_password_replaces_the_old_one(own_broker: KafkaCluster) -> None:
    """The rotation step (`python -m services.platform password`, and kafka.sh for the admin) really changes it."""
    admin = ServiceSettings()
    client, user = admin_client(admin), f"test-rotation-{uuid.uuid4().hex[:8]}"
    try:
        set_passwords(client, {user: "first-password"}, admin)
        await wait_for(lambda: _logs_in(login(user, "first-password")), timeout=30)
        set_passwords(client, {user: "second-password"}, admin)
        await wait_for(lambda: _logs_in(login(user, "second-password")), timeout=30)
        problem = await kafka_problem(login(user, "first-password"), timeout=5)
        assert problem is not None and "invalid credentials" in problem, problem
    finally:
        delete_users(client, [user], admin)


async def _logs_in(settings: ServiceSettings) -> bool:
    return await kafka_problem(settings, timeout=5) is None
