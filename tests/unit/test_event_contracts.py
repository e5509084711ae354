"""Consumer contracts: what each consumer reads is what its producer declares in its AsyncAPI document.

Each producing service's /asyncapi is built in process (no broker, no database: nothing connects before the
lifespan) and its outbox channel's catalogue ("event_type vN, ...") is read. A consumer must read every type its
producer publishes, at the version published, and nothing the producer does not publish: a type a consumer
does not know is parked on the dead-letter topic, and a version it claims to read that nobody publishes is a
rule nobody tested. A consumer may skip a type only by listing it in IGNORED (none does: every event changes a
report or the cases directory).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.cases.app import spec as cases_spec
from services.cases.directory import KNOWN_VERSIONS as CASES_READS
from services.quotas.app import spec as quotas_spec
from services.registry.app import spec as registry_spec
from services.reporting.app import spec as reporting_spec
from services.reporting.fold import READS as REPORTING_READS
from services.reporting.fold import SOURCE as REPORTING_SOURCE
from shared.base.settings import ServiceSettings
from shared.runtime.service import ServiceSpec, create_app

PRODUCERS: dict[str, Callable[[], ServiceSpec]] = {
    "registry": registry_spec,
    "cases": cases_spec,
    "quotas": quotas_spec,
    "reporting": reporting_spec,  # the report cycle's events: no service consumes them (partners do)
}
IGNORED: dict[tuple[str, str], set[str]] = {}  # (consumer, producer) -> event types it skips on purpose
_CATALOGUE = re.compile(r"([a-z_]+) v(\d+)")


async def declared(name: str) -> tuple[str, dict[str, int]]:
    """The producer's outbox topic and the event types and versions its AsyncAPI document declares on it."""
    app = create_app(PRODUCERS[name](), ServiceSettings.for_service(name))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}") as http:
        response = await http.get("/asyncapi")
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    sent = [op["channel"]["$ref"].rsplit("/", 1)[-1] for op in doc["operations"].values() if op["action"] == "send"]
    assert len(sent) == 1, f"{name} should publish on exactly one channel, declares {sent}"
    channel = doc["channels"][sent[0]]
    _, _, kinds = channel["description"].partition("Event types:")
    return channel["address"], {t: int(v) for t, v in _CATALOGUE.findall(kinds)}


@pytest.fixture(scope="module")
async def catalogue() -> dict[str, tuple[str, dict[str, int]]]:
    return {name: await declared(name) for name in PRODUCERS}


@pytest.mark.parametrize("name", sorted(PRODUCERS))
async def test_the_asyncapi_catalogue_is_the_producers_event_registry(
    name: str, catalogue: dict[str, tuple[str, dict[str, int]]]
) -> None:
    spec = PRODUCERS[name]()
    _, types = catalogue[name]
    assert types == {c.event_type: c.schema_version for c in spec.events.classes()}
    assert types, f"{name} declares no event type"


def consumed(consumer: Callable[[], ServiceSpec], catalogue: dict[str, tuple[str, dict[str, int]]]) -> list[str]:
    """The producers whose topics the consumer subscribes to."""
    spec = consumer()
    deployed = ServiceSettings.for_service(spec.name).topic  # the producers' addresses carry the same prefix
    topics = {deployed(t) for sub in spec.subscriptions for t in sub.topics}
    return sorted(name for name, (topic, _) in catalogue.items() if topic in topics)


def assert_contract(consumer: str, producer: str, reads: dict[str, int], published: dict[str, int]) -> None:
    ignored = IGNORED.get((consumer, producer), set())
    unknown = sorted(set(reads) - set(published))
    assert not unknown, f"{consumer} reads {producer} event types that {producer} does not declare: {unknown}"
    unread = sorted(set(published) - set(reads) - ignored)
    assert not unread, f"{consumer} neither reads nor ignores {producer}'s {unread}: they would be dead-lettered"
    versions = {t: (reads[t], published[t]) for t in reads if reads[t] != published[t]}
    assert not versions, f"{consumer} reads other versions than {producer} publishes (read, published): {versions}"


async def test_cases_reads_every_registry_event_at_the_published_version(
    catalogue: dict[str, tuple[str, dict[str, int]]],
) -> None:
    assert consumed(cases_spec, catalogue) == ["registry"]
    assert_contract("cases", "registry", CASES_READS, catalogue["registry"][1])


async def test_reporting_reads_every_event_of_the_three_producers(
    catalogue: dict[str, tuple[str, dict[str, int]]],
) -> None:
    assert consumed(reporting_spec, catalogue) == ["cases", "quotas", "registry"]
    for producer in ("registry", "cases", "quotas"):
        reads = {t: REPORTING_READS[t] for t, source in REPORTING_SOURCE.items() if source == producer}
        assert_contract("reporting", producer, reads, catalogue[producer][1])
    assert set(REPORTING_READS) == set(REPORTING_SOURCE)


def test_a_contract_breach_is_reported() -> None:
    """The check itself fails on each kind of drift (so a green run means the lists agree)."""
    published = {"a_happened": 2, "b_happened": 1}
    assert_contract("c", "p", {"a_happened": 2, "b_happened": 1}, published)
    for reads in ({"a_happened": 2}, {"a_happened": 1, "b_happened": 1}, {**published, "z_happened": 1}):
        with pytest.raises(AssertionError):
            assert_contract("c", "p", reads, published)
