"""Alembic builds each service schema from its revisions: the result is what the metadata declares.

Also: a schema the old hand-written runner built is stamped, not rebuilt, and two services starting at once
migrate a schema once (the advisory lock).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.cases import tables as cases
from services.cases.domain.events import CaseCompleted, CaseEnrolled, CaseTransferred, PostRehabStarted
from services.quotas import tables as quotas
from services.registry import tables as registry
from services.reporting import tables as reporting
from services.reporting.facts import facts
from services.reporting.migrations import reporting_0004
from shared.base.settings import ServiceSettings
from shared.kernel import store_schema
from shared.kernel.db import make_engine
from shared.kernel.events import SYSTEM_ACTOR, Envelope, Event
from shared.kernel.ids import uuid7
from shared.kernel.migrations import migrate
from tests.support.services import fresh_schema, owner_dsn

SERVICES = {"registry": registry, "cases": cases, "quotas": quotas, "reporting": reporting}
HEADS = {"registry": "registry_0005", "cases": "cases_0006", "quotas": "quotas_0001", "reporting": "reporting_0006"}
OLD_LEDGER = """CREATE TABLE schema_migrations (component TEXT NOT NULL, version INT NOT NULL,
    description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"""


def declared(service: Any) -> MetaData:
    """The kernel's tables and the service's, as one metadata."""
    combined = MetaData()
    for table in [*store_schema.metadata.tables.values(), *service.metadata.tables.values()]:
        table.to_metadata(combined)
    return combined


def locations(service: Any) -> list[Path]:
    return [*store_schema.KERNEL_MIGRATIONS, *service.MIGRATIONS]


async def differences(engine: AsyncEngine, metadata: MetaData) -> list[Any]:
    """What autogenerate would change to make the schema match `metadata` (nothing, when they agree)."""
    opts = {"compare_type": True, "compare_server_default": True}
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c, opts=opts), metadata))


async def versions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_a_fresh_schema_upgraded_to_head_is_what_the_metadata_declares(name: str) -> None:
    async with fresh_schema("mig") as schema:
        engine = make_engine(owner_dsn(ServiceSettings()), schema, 1)
        await migrate(engine, schema, locations(SERVICES[name]))
        assert await differences(engine, declared(SERVICES[name])) == []
        assert await migrate(engine, schema, locations(SERVICES[name])) == []  # a restart applies nothing
        heads = await versions(engine)
        await engine.dispose()
    assert heads == {HEADS[name]}  # in the service's schema; its branch depends on the kernel's


async def test_a_schema_the_old_runner_built_is_stamped_and_only_later_revisions_apply() -> None:
    async with fresh_schema("mig") as schema:
        engine = make_engine(owner_dsn(ServiceSettings()), schema, 1)
        await migrate(engine, schema, locations(registry), ["kernel@head", "registry_0001"])
        async with engine.begin() as conn:  # what the old runner left: its ledger, no alembic_version
            await conn.execute(text("DROP TABLE alembic_version"))
            await conn.execute(text(OLD_LEDGER))
            await conn.execute(
                text(
                    "INSERT INTO schema_migrations (component, version, description) VALUES"
                    " ('kernel', 1, ''), ('kernel', 2, ''), ('kernel', 3, ''), ('registry', 1, '')"
                )
            )
        applied = await migrate(engine, schema, locations(registry))
        left = await differences(engine, declared(registry))
        heads = await versions(engine)
        await engine.dispose()
    assert applied[0].startswith("stamped registry_0001") and applied[1:] == [
        "registry_0002 imports keep the rows they read sealed, and only while they run",
        "registry_0003 the audit log sealed: owned by audit_owner, the service may only append and read",
        "registry_0004 per-account rate-limit state, shared by every replica",
        "registry_0005 persons keep their commune as recorded and also today's unit responsible (unit_now) and the"
        " date it was recorded",
    ]
    assert [d for d in left if d[0] != "remove_table"] == [] and [d[1].name for d in left] == ["schema_migrations"]
    assert heads == {"registry_0005"}


async def test_two_services_starting_at_once_migrate_the_schema_once() -> None:
    async with fresh_schema("mig") as schema:
        engines = [make_engine(owner_dsn(ServiceSettings()), schema, 1) for _ in range(2)]
        runs = await asyncio.gather(*(migrate(e, schema, locations(cases)) for e in engines))
        heads = await versions(engines[0])
        left = await differences(engines[0], declared(cases))
        for engine in engines:
            await engine.dispose()
    assert sorted(len(applied) for applied in runs) == [0, 9]  # one did the work, the other found it done
    assert heads == {HEADS["cases"]} and left == []


MX = (("m", "07616"), ("x", "07616"))


async def test_the_live_generation_gets_its_planned_ends_filled_from_its_facts() -> None:
    """reporting_0002 on a deployment whose generation predates case_planned_ends: the fold's rows, by migration."""
    async with fresh_schema("mig") as schema:
        engine = make_engine(owner_dsn(ServiceSettings()), schema, 1)
        await migrate(engine, schema, locations(reporting), ["kernel@head", "reporting_0001"])
        g0 = facts(0)
        async with engine.begin() as conn:
            for table in g0.all():
                if table not in (g0.case_planned_ends, g0.events):  # what the code before them created
                    await conn.run_sync(table.create)
            for _, index, _ in reporting_0004.INDEXES:  # nor had it these
                await conn.execute(text(f'DROP INDEX IF EXISTS "g0_{index}"'))
            for name in ("persons", "cases"):  # nor these columns (their indexes go with them)
                await conn.execute(text(f"ALTER TABLE g0_{name} DROP COLUMN latest_commune, DROP COLUMN latest_from"))
            for name in ("residences", "case_units"):
                await conn.execute(text(f'DROP INDEX "g0_{name}_superseded"'))
            await conn.execute(
                text(
                    "INSERT INTO g0_cases (case_id, version, started_on, planned_months)"
                    " VALUES ('x', 5, '2024-01-10', 12), ('m', 1, '2024-01-10', NULL)"
                )
            )
            await conn.execute(
                g0.case_units.insert(),
                [
                    *({"case_id": c, "version": 1, "valid_from": date(2024, 1, 10), "commune_code": u} for c, u in MX),
                    {"case_id": "x", "version": 3, "valid_from": date(2024, 2, 1), "commune_code": "07660"},
                ],
            )
            await conn.execute(
                g0.abscondments.insert(),
                [
                    {"case_id": "x", "version": 2, "absconded_on": date(2024, 3, 1), "returned_on": date(2024, 3, 31)},
                    {"case_id": "x", "version": 4, "absconded_on": date(2025, 3, 1), "returned_on": None},
                ],
            )
        applied = await migrate(engine, schema, locations(reporting))
        async with engine.connect() as conn:
            rows = [tuple(r) for r in await conn.execute(text("SELECT * FROM g0_case_planned_ends ORDER BY version"))]
            logged = await conn.scalar(text("SELECT count(*) FROM g0_events"))  # reporting_0003: an empty log
            complete = await conn.scalar(text("SELECT log_complete FROM generation"))  # so: no submission yet
            query = text("SELECT case_id, latest_commune, latest_from FROM g0_cases ORDER BY case_id")
            latest = [tuple(r) for r in await conn.execute(query)]
            indexes = set(
                (await conn.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = :s"), {"s": schema}))
                .scalars()
                .all()
            )
        await engine.dispose()
    assert [a.split()[0] for a in applied] == [
        "reporting_0002",
        "reporting_0003",
        "reporting_0004",
        "reporting_0005",
        "reporting_0006",
    ]
    assert logged == 0 and complete is False
    assert latest == [("m", "07616", date(2024, 1, 10)), ("x", "07660", date(2024, 2, 1))]  # reporting_0006
    assert {i.name for t in g0.all() for i in t.indexes} <= indexes  # reporting_0004: what facts.py declares
    assert rows == [  # reporting_0005: each valid until the next one's valid_from
        ("x", 1, date(2024, 1, 10), date(2025, 1, 10), date(2024, 3, 31)),
        ("x", 2, date(2024, 3, 31), date(2025, 2, 9), None),
    ]


async def test_moves_made_under_post_rehab_before_cases_0004_get_their_duties() -> None:
    """cases_0004 on a deployment with moves already made: the rows the projection would write, by migration."""
    person = "0190b5a0-0000-7000-8000-000000000001"
    enrolled = CaseEnrolled(
        person_id=person,
        modality="voluntary_community",
        decision_number="QD",
        decided_on=date(2025, 1, 10),
        started_on=date(2025, 1, 10),
        planned_months=6,
        court_decision_number=None,
        sex=None,
        birth_year=1990,
        course_number=1,
    )
    post_rehab = PostRehabStarted(
        decision_number="QD-2",
        decided_on=date(2025, 7, 15),
        starts_on=date(2025, 7, 15),
        months=12,
        ends_on=date(2026, 7, 15),
        mentor_named=True,
        days_waited=5,
    )
    moved = CaseTransferred(from_commune="07616", to_commune="07615")
    lives: dict[str, list[tuple[Event, date, str]]] = {
        "0190b5a0-0000-7000-8000-0000000000aa": [
            (enrolled, date(2025, 1, 10), "07616"),
            (CaseCompleted(certificate_number="G", served_days=181), date(2025, 7, 10), "07616"),
            (post_rehab, date(2025, 7, 15), "07616"),
            (moved, date(2026, 7, 10), "07615"),
        ],
        "0190b5a0-0000-7000-8000-0000000000bb": [  # moved in treatment: no duty
            (enrolled, date(2025, 1, 10), "07616"),
            (moved, date(2025, 3, 1), "07615"),
        ],
    }
    rows = [
        Envelope(
            event_id=uuid7(),
            event_type=event.event_type,
            schema_version=event.schema_version,
            stream_id=case_id,
            stream_version=version,
            occurred_on=on,
            recorded_at=datetime.now(UTC),
            actor=SYSTEM_ACTOR,
            unit_code=unit,
            correlation_id="mig",
            payload=event.model_dump(mode="json"),
        )
        for case_id, life in lives.items()
        for version, (event, on, unit) in enumerate(life, start=1)
    ]
    async with fresh_schema("mig") as schema:
        engine = make_engine(owner_dsn(ServiceSettings()), schema, 1)
        await migrate(engine, schema, locations(cases), ["kernel@head", "cases_0003"])
        async with engine.begin() as conn:
            await conn.execute(
                store_schema.events.insert(),
                [
                    {
                        "event_id": e.event_id,
                        "stream_id": e.stream_id,
                        "stream_version": e.stream_version,
                        "event_type": e.event_type,
                        "schema_version": e.schema_version,
                        "occurred_on": e.occurred_on,
                        "recorded_at": e.recorded_at,
                        "envelope": e.model_dump(mode="json"),
                    }
                    for e in rows
                ],
            )
        applied = await migrate(engine, schema, locations(cases))
        async with engine.connect() as conn:
            found = [
                tuple(r)
                for r in await conn.execute(
                    text("SELECT case_id::text, version, moved_on, notice_due_on, report_due_on FROM case_moves")
                )
            ]
        await engine.dispose()
    assert [a.split()[0] for a in applied] == ["cases_0004", "cases_0005", "cases_0006"]
    assert found == [
        ("0190b5a0-0000-7000-8000-0000000000aa", 4, date(2026, 7, 10), date(2026, 7, 11), date(2026, 7, 11))
    ]


async def test_existing_persons_and_cases_get_their_unit_now_filled_by_the_catalogue() -> None:
    """registry_0005 and cases_0005 on rows from before them: An Bá (07660) maps to Xã Sơn Động (07615), Cống Vị
    (00007, split) to its province, a code recorded after the reform stays itself."""
    person = "INSERT INTO persons (person_id, version, commune_code, status, sex, birth_year, source, registered_on)"
    async with fresh_schema("mig") as schema:
        engine = make_engine(owner_dsn(ServiceSettings()), schema, 1)
        await migrate(engine, schema, locations(registry), ["kernel@head", "registry_0004"])
        async with engine.begin() as conn:
            for n, (code, on) in enumerate([("07660", "2025-03-01"), ("00007", "2024-05-01"), ("07615", "2025-10-15")]):
                await conn.execute(
                    text(f"{person} VALUES (:id, 1, :c, 'user', 'male', 1990, 'police_review', :on)"),
                    {"id": f"0190b5a0-0000-7000-8000-00000000000{n}", "c": code, "on": date.fromisoformat(on)},
                )
        applied = await migrate(engine, schema, locations(registry))
        async with engine.connect() as conn:
            rows = {
                r.commune_code: (r.unit_now, r.unit_on)
                for r in await conn.execute(text("SELECT commune_code, unit_now, unit_on FROM persons"))
            }
        await engine.dispose()
    assert [a.split()[0] for a in applied] == ["registry_0005"]
    assert rows == {
        "07660": ("07615", date(2025, 3, 1)),
        "00007": ("01", date(2024, 5, 1)),
        "07615": ("07615", date(2025, 10, 15)),
    }
    async with fresh_schema("mig") as schema:
        engine = make_engine(owner_dsn(ServiceSettings()), schema, 1)
        await migrate(engine, schema, locations(cases), ["kernel@head", "cases_0003"])
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO directory (person_id, commune_code, status, on_record) VALUES"
                    " ('0190b5a0-0000-7000-8000-000000000001', '07660', 'addict', true)"
                )
            )
        await migrate(engine, schema, locations(cases))
        async with engine.connect() as conn:
            directory = (await conn.execute(text("SELECT unit_now, unit_on FROM directory"))).one()
        await engine.dispose()
    assert tuple(directory) == ("07615", date(2025, 6, 30))
