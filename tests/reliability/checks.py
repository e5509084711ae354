"""After a fault: wait for the system to settle, then compare every store and projection with the ledger.

Per stream, the acknowledged commands imply a number of events. An event the clients were told about that is
missing from the event store or from reporting's facts is *lost*; an event in the store no command accounts
for, or an event reporting applied more than once (its per-topic counter runs ahead of the facts' stream
versions), is *duplicated*. The read models and the reports themselves must give the same numbers.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import text

from services.topology import CASES_TOPIC, QUOTAS_TOPIC, REGISTRY_TOPIC
from shared.base.settings import PlatformSettings
from shared.kernel.db import make_engine
from shared.kernel.kafka import make_consumer, partitions_of
from tests.harness import System
from tests.reliability.load import Ledger
from tests.support.polling import wait_until
from tests.support.services import owner_dsn


@dataclass
class Outcome:
    """One row of the fault table."""

    fault: str
    acknowledged: int
    in_store: int
    applied: int
    lost: int
    duplicated: int
    published: int = 0
    answers: str = ""
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger, repr=False)

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and not self.mismatches


async def _rows(system: System, name: str, sql: str) -> list[tuple[str, int]]:
    engine = make_engine(owner_dsn(system.settings), system.schemas[name], 1)
    try:
        async with engine.connect() as conn:
            return [(str(r[0]), int(r[1])) for r in await conn.execute(text(sql))]
    finally:
        await engine.dispose()


async def _store(system: System) -> Counter[str]:
    found: Counter[str] = Counter()
    for name in ("registry", "cases", "quotas"):
        found.update(dict(await _rows(system, name, "SELECT stream_id, count(*) FROM events GROUP BY stream_id")))
    return found


async def _reporting(system: System) -> tuple[Counter[str], int]:
    """(stream -> last version applied in reporting's facts, how many applications its counter recorded)."""
    generation = await system.scalar("reporting", "SELECT current FROM generation WHERE id = 1")
    g = f"g{generation}_"
    versions: Counter[str] = Counter()
    versions.update(dict(await _rows(system, "reporting", f"SELECT person_id, version FROM {g}persons")))
    versions.update(dict(await _rows(system, "reporting", f"SELECT case_id, version FROM {g}cases")))
    plans = f"SELECT 'plan-' || year || '-' || unit_code, version FROM {g}plans"
    versions.update(dict(await _rows(system, "reporting", plans)))
    applied = await system.scalar("reporting", f"SELECT coalesce(sum(events), 0) FROM {g}topics")
    return versions, applied


Snapshot = tuple[Counter[str], Counter[str], int, int]  # store, reporting's versions, applied, unpublished


async def _snapshot(system: System) -> Snapshot:
    """What the stores hold now: events per stream, reporting's versions and counter, unpublished outbox rows."""
    store = await _store(system)
    versions, applied = await _reporting(system)
    outbox = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
    unpublished = sum([await system.scalar(name, outbox) for name in ("registry", "cases", "quotas")])
    return store, versions, applied, unpublished


async def settle(system: System, ledger: Ledger, fault: str, timeout: float = 240) -> Outcome:
    """Wait until reporting holds every stored event (or `timeout`), then count."""

    def caught_up(snapshot: Snapshot) -> bool:
        store, versions, _, unpublished = snapshot
        return sum(versions.values()) >= sum(store.values()) >= ledger.commands and not unpublished

    with contextlib.suppress(AssertionError):  # not settled in time: the counts below say what is missing
        await wait_until(lambda: _snapshot(system), caught_up, timeout, 0.5, "every stored event in reporting")
    store, versions, applied, unpublished = await _snapshot(system)
    lost = duplicated = 0
    for stream in set(ledger.per_stream) | set(store) | set(versions):
        acked, stored, seen = ledger.per_stream[stream], store[stream], versions[stream]
        lost += max(0, acked - min(stored, seen))
        duplicated += max(0, stored - acked) + max(0, seen - stored)
    duplicated += max(0, applied - sum(versions.values()))  # an event applied twice bumps the counter twice
    outcome = Outcome(
        fault,
        ledger.commands,
        sum(store.values()),
        applied,
        lost,
        duplicated,
        published=await _published(system),
        answers=", ".join(f"{k}×{v}" for k, v in sorted(ledger.answers.items())),
        ledger=ledger,
        notes=[", ".join(f"{kind} {n}" for kind, n in ledger.acked.items()), *ledger.notes],
    )
    if unpublished:
        outcome.mismatches.append(f"{unpublished} outbox rows never published")
    await _projections(system, ledger, outcome)
    return outcome


async def _published(system: System) -> int:
    """Records on the three topics: redeliveries after a fault included."""
    return sum([await records_on(system.settings, topic) for topic in (REGISTRY_TOPIC, CASES_TOPIC, QUOTAS_TOPIC)])


async def records_on(settings: PlatformSettings, topic: str) -> int:
    """How many records `topic` (a logical or physical name) holds, whatever they contain."""
    partitions = await partitions_of(settings, settings.topic(topic))
    consumer = make_consumer(settings)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        return sum(ends[tp] - starts[tp] for tp in partitions)
    finally:
        await consumer.stop()


async def _projections(system: System, ledger: Ledger, outcome: Outcome) -> None:
    """The read models and the reports say what the acknowledged commands imply."""
    acked = ledger.acked
    expect: dict[str, tuple[object, object]] = {
        "registry persons": (await system.scalar("registry", "SELECT count(*) FROM persons"), acked["register"]),
        "registry outbox = events": (
            await system.scalar("registry", "SELECT count(*) FROM outbox"),
            await system.scalar("registry", "SELECT count(*) FROM events"),
        ),
        "cases outbox = events": (
            await system.scalar("cases", "SELECT count(*) FROM outbox"),
            await system.scalar("cases", "SELECT count(*) FROM events"),
        ),
        "cases directory": (await system.scalar("cases", "SELECT count(*) FROM directory"), acked["register"]),
        "cases enrolled": (await system.scalar("cases", "SELECT count(*) FROM cases"), acked["enrol"]),
        "cases under post-rehab": (
            await system.scalar("cases", "SELECT count(*) FROM cases WHERE state = 'post_rehab'"),
            acked["post_rehab"],
        ),
    }
    base = system["reporting"].url + "/api/v1/reports"
    who = ("district_officer", "220")
    coverage = await system.api.call(
        "GET", f"{base}/post-rehab-coverage", who, params={"unit_code": "220", "as_of": "2024-12-31"}
    )
    quota = await system.api.call("GET", f"{base}/quota-progress", who, params={"year": 2024, "unit_code": "220"})
    expect["report: completers"] = (coverage["completers"], acked["complete"])
    expect["report: covered"] = (coverage["covered"], acked["post_rehab"])
    expect["report: voluntary enrolments"] = (quota["total"]["achieved"].get("voluntary_community", 0), acked["enrol"])
    issued = {
        u["unit_code"]: u["quota"].get("voluntary_community") for u in quota["units"] if u["unit_code"] in ledger.quotas
    }
    expect["report: commune quotas"] = (issued, ledger.quotas)
    expect["quotas outbox = events"] = (
        await system.scalar("quotas", "SELECT count(*) FROM outbox"),
        await system.scalar("quotas", "SELECT count(*) FROM events"),
    )
    for what, (got, want) in expect.items():
        if got != want:
            outcome.mismatches.append(f"{what}: {got}, expected {want}")
