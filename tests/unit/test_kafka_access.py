"""The Kafka access table matches what each service does, and grants nothing more (no I/O)."""

from __future__ import annotations

import importlib

import pytest

from services.topology import GRANTS
from shared.base.settings import PlatformSettings
from shared.runtime.kafka_access import DESCRIBE, GROUP, LITERAL, PREFIXED, READ, TOPIC, WRITE, Grant, permissions
from shared.runtime.service import ServiceSpec


def spec_of(service: str) -> ServiceSpec:
    spec: ServiceSpec = importlib.import_module(f"services.{service}.app").spec()
    return spec


@pytest.mark.parametrize("grant", GRANTS, ids=lambda g: g.service)
def test_the_table_matches_the_topic_and_subscriptions_of_each_service(grant: Grant) -> None:
    spec = spec_of(grant.service)
    assert spec.topic == grant.topic
    assert {t for s in spec.subscriptions for t in s.topics} == set(grant.reads)
    # the Kafka group of a subscription is its name (shared/kernel/subscriber.py): the ACL covers a prefix
    assert all(s.name.startswith(grant.group_prefix) for s in spec.subscriptions)


def test_each_service_writes_its_topic_and_the_dead_letters_of_what_it_reads_and_nothing_else() -> None:
    settings = PlatformSettings(topic_prefix="prod")
    table = {g.service: set(permissions(g, settings)) for g in GRANTS}
    assert table == {
        "registry": {
            (GROUP, PREFIXED, "registry-", READ),
            (TOPIC, LITERAL, "prod.registry.events", WRITE),
            (TOPIC, LITERAL, "prod.registry.events.dlq", DESCRIBE),
        },
        "cases": {
            (GROUP, PREFIXED, "cases-", READ),
            (TOPIC, LITERAL, "prod.cases.events", WRITE),
            (TOPIC, LITERAL, "prod.cases.events.dlq", DESCRIBE),
            (TOPIC, LITERAL, "prod.registry.events", READ),
            (TOPIC, LITERAL, "prod.registry.events.dlq", WRITE),
        },
        "quotas": {
            (GROUP, PREFIXED, "quotas-", READ),
            (TOPIC, LITERAL, "prod.quotas.events", WRITE),
            (TOPIC, LITERAL, "prod.quotas.events.dlq", DESCRIBE),
        },
        "reporting": {
            (GROUP, PREFIXED, "reporting-", READ),
            (TOPIC, LITERAL, "prod.reports.events", WRITE),
            (TOPIC, LITERAL, "prod.reports.events.dlq", DESCRIBE),
            (TOPIC, LITERAL, "prod.cases.events", READ),
            (TOPIC, LITERAL, "prod.cases.events.dlq", WRITE),
            (TOPIC, LITERAL, "prod.quotas.events", READ),
            (TOPIC, LITERAL, "prod.quotas.events.dlq", WRITE),
            (TOPIC, LITERAL, "prod.registry.events", READ),
            (TOPIC, LITERAL, "prod.registry.events.dlq", WRITE),
        },
    }
