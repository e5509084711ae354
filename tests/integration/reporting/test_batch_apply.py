"""The live consumer folds a batch in a few statements (`apply_many`): the facts must be exactly those of folding
the same events one at a time (`apply`), whatever the interleaving of streams, the batch sizes and the duplicates."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select, text

from services.cases.domain.rules import rulebook
from services.registry.domain.events import PersonRegistered
from services.reporting.apply import apply, apply_many
from services.reporting.facts import MIGRATIONS, Facts, create_generation
from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.events import CommandContext, Envelope, PendingEvent, seal
from shared.kernel.migrations import migrate
from shared.kernel.store_schema import KERNEL_MIGRATIONS
from shared.vn.units import admin_units
from tests.perf.national import life_of, people_of
from tests.support.services import fresh_schema, owner_dsn


def history(count: int, seed: int) -> list[Envelope]:
    """People registered and their lives (every kind of case event), streams interleaved, some events twice."""
    units, rules, ctx = admin_units(), rulebook(), CommandContext(correlation_id="batch-test")
    streams: list[list[Envelope]] = []
    for person in people_of(count, seed, units):
        person.person_id = f"00000000-0000-4000-8000-{person.index:012d}"
        registered = PersonRegistered(
            commune_code=person.commune,
            status="addict" if person.addict else "user",
            source="police_review",
            sex=person.sex,
            birth_year=person.birth_year,
        )
        pending = PendingEvent(event=registered, occurred_on=person.registered_on, unit_code=person.commune)
        streams.append([seal(pending, person.person_id, 1, ctx)])
        for case_id, events in life_of(person, units, rules, seed).streams:
            streams.append([seal(p, case_id, n + 1, ctx) for n, p in enumerate(events)])
    rng, merged = random.Random(seed), []
    heads = [s for s in streams if s]
    while heads:  # a random interleaving that keeps each stream's order, as partitions deliver them
        stream = rng.choice(heads)
        merged.append(stream.pop(0))
        if rng.random() < 0.05:
            merged.append(merged[rng.randrange(len(merged))])  # a redelivery, in or out of its batch
        heads = [s for s in heads if s]
    return merged


async def rows_of(conn: Any, f: Facts) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    for table in f.all():
        rows = [tuple(r) for r in await conn.execute(select(table))]
        tables[table.name.split("_", 1)[1]] = sorted(rows, key=repr)
    return tables


async def test_a_batch_folds_to_the_same_facts_as_one_event_at_a_time() -> None:
    envs = history(400, seed=11)
    assert {e.event_type for e in envs} >= {"case_absconded", "case_returned", "post_rehab_ended", "relapse_recorded"}
    async with fresh_schema("batch") as schema:
        engine = make_engine(owner_dsn(ServiceSettings()), schema, 2)
        try:
            await migrate(engine, schema, [*KERNEL_MIGRATIONS, *MIGRATIONS])
            async with engine.begin() as conn:
                one, many = await create_generation(conn, 0), await create_generation(conn, 1)
            async with engine.begin() as conn:
                for env in envs:
                    await apply(conn, one, env)
            rng, at = random.Random(5), 0
            while at < len(envs):
                size = rng.choice([1, 3, 50, 500])
                async with engine.begin() as conn:
                    await apply_many(conn, many, envs[at : at + size])
                at += size
            async with engine.begin() as conn:
                assert await apply_many(conn, many, envs[:300]) == 0  # a whole batch redelivered changes nothing
            async with engine.connect() as conn:
                expected, got = await rows_of(conn, one), await rows_of(conn, many)
                cases = await conn.scalar(text("SELECT count(*) FROM g1_cases"))
        finally:
            await engine.dispose()
    assert cases and cases > 100
    assert got == expected
