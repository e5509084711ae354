"""Real faults injected into the real stack under a steady load; then every projection against the ledger.

Each test starts the four services as processes on fresh schemas and topics, runs `Load` (people's lives
through the public APIs), injects its fault mid-load, heals it, lets the system settle and checks that every
acknowledged command is in the event store, in the read models and in the reports exactly once.

`make test` runs the quick ones; the 60-second Kafka outage and the three-broker cluster are marked `slow`
and run by `make test-reliability`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.topology import ALL_TOPICS, CASES_TOPIC, QUOTAS_TOPIC, REGISTRY_TOPIC
from shared.kernel.ids import uuid7
from shared.kernel.kafka import dlq_topic, make_producer
from tests.harness import ROOT, System
from tests.reliability.checks import Outcome, records_on, settle
from tests.reliability.conftest import RESULTS
from tests.reliability.kafka_nodes import KafkaCluster, free_base_port
from tests.reliability.load import Load
from tests.support.polling import wait_until
from tests.support.postgres import PostgresCluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

Fault = Callable[[Load], Awaitable[None]]


async def under_load(system: System, fault: str, inject: Fault) -> Outcome:
    """Start the load, run `inject` (which waits, breaks, heals), stop the load, settle, count, record."""
    load = Load(system)
    load.start()
    try:
        await inject(load)
    finally:
        ledger = await load.stop()
    outcome = await settle(system, ledger, fault)
    RESULTS.append(outcome)
    print(outcome)
    assert outcome.acknowledged > 0
    assert outcome.clean, outcome
    return outcome


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[System]:
    async with System("rl", tmp_path / "logs") as running:
        yield running


@pytest.fixture
async def kafka(tmp_path: Path) -> AsyncIterator[KafkaCluster]:
    cluster = KafkaCluster(tmp_path / "kafka", 1, free_base_port())
    try:
        await cluster.start()
        yield cluster
    finally:
        cluster.close()


async def test_each_service_killed_mid_batch_and_restarted(system: System) -> None:
    # The sleeps in the faults below pace the load and the fault on purpose: how long the system runs before it,
    # how long the fault lasts, and how long the load goes on after it is healed.
    async def kill_each(load: Load) -> None:
        await asyncio.sleep(4)
        for name in ("registry", "cases", "reporting", "quotas"):
            system[name].kill()  # SIGKILL: mid-request, mid-relay batch, mid-consumer batch
            await asyncio.sleep(2)  # down 2 s: the others pile up work for it
            await system[name].start()
            if name in ("cases", "reporting"):  # again while it is applying the backlog of those 2 s
                await asyncio.sleep(0.2)  # on purpose: 0.2 s into the backlog
                system[name].kill()
                await system[name].start()
            await asyncio.sleep(3)

    outcome = await under_load(system, "each service SIGKILLed and restarted", kill_each)
    assert [s.starts for s in system.services.values()] == [2, 3, 2, 3]
    assert "no answer" in outcome.answers  # the kills did cut requests off


async def test_postgres_restarted_under_load(tmp_path: Path) -> None:
    postgres = PostgresCluster()  # a cluster of the test's own: the platform's PostgreSQL stays up

    async def restart_postgres(load: Load) -> None:
        await asyncio.sleep(4)  # the load runs a while before the fault
        await postgres.stop()
        stopped = time.monotonic()
        await asyncio.sleep(8)  # the outage itself: 8 s without a database
        await postgres.start()
        load.ledger.notes.append(f"PostgreSQL down for {time.monotonic() - stopped:.0f} s")
        await asyncio.sleep(6)  # the load goes on after the fault is healed

    try:
        await postgres.start()
        async with System("rp", tmp_path / "logs", env=postgres.env) as system:
            outcome = await under_load(system, "PostgreSQL stopped 8 s and restarted", restart_postgres)
    finally:
        await postgres.close()
    assert "503×" in outcome.answers, "commands during the outage must get a clear 503"
    assert "500×" not in outcome.answers


async def test_kafka_broker_killed_and_restarted(tmp_path: Path, kafka: KafkaCluster) -> None:
    async def kill_broker(load: Load) -> None:
        await asyncio.sleep(4)
        kafka.kill()
        await asyncio.sleep(6)
        await kafka.restart()
        await asyncio.sleep(6)

    async with System("rk", tmp_path / "logs", env=kafka.env) as system:
        await under_load(system, "Kafka broker SIGKILLed, restarted after 6 s", kill_broker)


@pytest.mark.slow
async def test_kafka_unreachable_for_a_minute(tmp_path: Path, kafka: KafkaCluster) -> None:
    during: list[int] = []

    async def freeze_broker(load: Load) -> None:
        await asyncio.sleep(4)
        kafka.freeze()  # SIGSTOP: sockets stay open, nothing answers
        start = time.monotonic()
        await asyncio.sleep(60)
        kafka.thaw()
        during.append(load.ledger.acked_between(start, time.monotonic()))
        load.ledger.notes.append(f"{during[0]} commands acknowledged while Kafka was unreachable")
        await asyncio.sleep(5)

    async with System("ru", tmp_path / "logs", env=kafka.env) as system:
        await under_load(system, "Kafka unreachable for 60 s", freeze_broker)
    assert during[0] > 0, "commands must keep being accepted while Kafka is away"


@pytest.mark.slow
async def test_one_broker_of_three_killed(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path / "kafka3", 3, free_base_port())

    async def kill_one(load: Load) -> None:
        await asyncio.sleep(4)
        cluster.kill(0)  # the first bootstrap address, and a voter of the controller quorum
        await asyncio.sleep(15)
        await cluster.restart(0)
        await asyncio.sleep(5)

    try:
        await cluster.start()
        async with System("r3", tmp_path / "logs", env=cluster.env) as system:
            await under_load(system, "1 of 3 brokers SIGKILLed (RF 3, min ISR 2)", kill_one)
    finally:
        cluster.close()


async def test_poison_messages_go_to_the_dlq_and_consumption_goes_on(system: System) -> None:
    settings = system.settings
    producer = make_producer(settings, "test-poison", enable_idempotence=False)
    await producer.start()

    async def poison(load: Load) -> None:
        await asyncio.sleep(3)
        for topic in ALL_TOPICS:
            for value in _poison(topic):
                await producer.send_and_wait(settings.topic(topic), value, key=f"poison-{uuid7()}".encode())
        await asyncio.sleep(6)

    try:
        outcome = await under_load(system, "3 poison messages on each of the 3 topics", poison)
    finally:
        await producer.stop()
    # the cases service reads the registry topic, reporting reads all three: 3 + 9 parked, by reason
    parked = {
        name: await system.scalar(name, "SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL")
        for name in ("cases", "reporting")
    }
    assert parked == {"cases": 3, "reporting": 9}
    on_dlq = {t: await records_on(settings, dlq_topic(t)) for t in ALL_TOPICS}
    assert on_dlq == {REGISTRY_TOPIC: 6, CASES_TOPIC: 3, QUOTAS_TOPIC: 3}

    listing = await _rehab(system, "dlq", "list")
    for reason in ("malformed envelope", "unknown event type", "is newer than"):
        assert reason in listing

    # `rehab dlq replay` (run after a fix) sends each parked message back once, however many consumers parked
    # it. These are still poison, so each consumer parks them again, and nothing is applied or counted twice.
    replayed = await _rehab(system, "dlq", "replay")
    assert [line.split(": ")[1].split()[0] for line in replayed.splitlines()] == ["3", "3", "3"]
    rows = "SELECT count(*) FROM dead_letters"

    async def parked_rows() -> list[int]:
        return [await system.scalar(n, rows) for n in ("cases", "reporting")]

    await wait_until(parked_rows, lambda got: got == [6, 18], timeout=60, what="every replayed message parked again")
    listing = await _rehab(system, "dlq", "list")
    assert [line.split(": ")[1] for line in listing.splitlines() if not line.startswith(" ")] == [
        "12 message(s), 6 not replayed",  # the originals are marked replayed; their second parking is not
        "6 message(s), 3 not replayed",
        "6 message(s), 3 not replayed",
    ]
    again = await settle(system, outcome.ledger, "after replay")
    assert (again.in_store, again.applied, again.lost, again.duplicated) == (outcome.in_store, outcome.applied, 0, 0)
    outcome.notes.append(f"parked: {parked}, on the DLQ topics: {sorted(on_dlq.values())}; replay sent 9 back once")


def _poison(topic: str) -> list[bytes]:
    """Malformed JSON, an event type nobody knows, and a known type with a schema version from the future."""
    event_type = {REGISTRY_TOPIC: "person_registered", CASES_TOPIC: "case_enrolled", QUOTAS_TOPIC: "plan_issued"}
    now = datetime.now(UTC)

    def envelope(kind: str, version: int) -> bytes:
        return json.dumps(
            {
                "event_id": str(uuid7()),
                "event_type": kind,
                "schema_version": version,
                "stream_id": str(uuid7()),
                "stream_version": 1,
                "occurred_on": now.date().isoformat(),
                "recorded_at": now.isoformat(),
                "actor": {"sub": "intruder", "role": "system", "unit": "VN"},
                "unit_code": "220",
                "correlation_id": str(uuid7()),
                "payload": {"commune_code": "07616", "status": "addict"},
            }
        ).encode()

    return [b'{"event_id": "not even json', envelope("person_teleported", 1), envelope(event_type[topic], 99)]


async def _rehab(system: System, *args: str) -> str:
    env = {**system["reporting"].env}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode()
