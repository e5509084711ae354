"""Rebuild: replay every topic from offset 0 into a fresh generation, then swap it in when caught up.

The replay folds events in memory (the same `fold` as the live path) and bulk-loads the tables with COPY.
The swap then takes the lock the live consumer takes for every event, applies what arrived meanwhile, and
moves the generation pointer, in one transaction: reads never see a half-built state, and nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.reporting.apply import SWAP_LOCK, apply, hold, logged
from services.reporting.facts import Facts, create_generation, drop_generation, facts
from services.reporting.fold import KIND, StreamFacts, empty, fold, source_of
from shared.base.settings import ServiceSettings
from shared.kernel.db import copy_rows
from shared.kernel.events import Envelope, UnknownEventError
from shared.kernel.kafka import make_admin, make_consumer, read_to_end

log = logging.getLogger("rehab.reporting.rebuild")


class Rebuild:
    """One rebuild at a time per service; progress is kept for `GET /projections/status`."""

    def __init__(self, engine: AsyncEngine, settings: ServiceSettings, topics: tuple[str, ...]) -> None:
        self.engine, self.settings, self.topics = engine, settings, topics
        self.task: asyncio.Task[None] | None = None
        self.progress: dict[str, Any] = {}

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    async def start(self) -> int:
        """Begin a rebuild into generation current + 1; returns that generation."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(text("SELECT current, state FROM generation WHERE id = 1 FOR UPDATE"))).one()
            if row.state == "rebuilding" and self.running:
                raise RuntimeError("a rebuild is already running")
            target = row.current + 1
            await create_generation(conn, target)
            await conn.execute(
                text(
                    "UPDATE generation SET building = :b, state = 'rebuilding', started_at = now(), finished_at = NULL,"
                    " detail = '{}' WHERE id = 1"
                ),
                {"b": target},
            )
        self.progress = {"generation": target, "applied": 0, "state": "replaying"}
        self.task = asyncio.create_task(self._run(target))
        return int(target)

    async def wait(self) -> None:
        if self.task is not None:
            await self.task

    async def _run(self, target: int) -> None:
        try:
            started = asyncio.get_running_loop().time()
            f = facts(target)
            consumer = make_consumer(
                self.settings,
                enable_auto_commit=False,
                max_partition_fetch_bytes=8 * 1024 * 1024,
                fetch_max_bytes=64 * 1024 * 1024,
            )
            await consumer.start()
            try:
                partitions = await self._partitions()
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
                ends = await consumer.end_offsets(partitions)
                self.progress["end_offsets"] = {f"{tp.topic}:{tp.partition}": o for tp, o in ends.items()}
                state = await self._replay(consumer, partitions, ends, f)
                self.progress["state"] = "loading"
                async with self.engine.begin() as conn:
                    await bulk_load(conn, f, state)
                self.progress["state"] = "swapping"
                await self._swap(consumer, partitions, target)
            finally:
                await consumer.stop()
            seconds = asyncio.get_running_loop().time() - started
            self.progress.update(
                state="done",
                seconds=round(seconds, 2),
                events_per_second=round(self.progress["applied"] / seconds) if seconds else None,
            )
            log.info("rebuild into generation %d done: %s", target, self.progress)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("rebuild into generation %d failed", target)
            self.progress.update(state="failed", error=str(exc))
            async with self.engine.begin() as conn:
                await drop_generation(conn, target)
                await conn.execute(
                    text(
                        "UPDATE generation SET building = NULL, state = 'live', finished_at = now(),"
                        " detail = jsonb_build_object('error', CAST(:e AS TEXT)) WHERE id = 1"
                    ),
                    {"e": str(exc)},
                )

    async def _partitions(self) -> list[TopicPartition]:
        admin = make_admin(self.settings)
        await admin.start()
        try:
            described = await admin.describe_topics(list(self.topics))
        finally:
            await admin.close()
        return [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]

    async def _replay(
        self,
        consumer: AIOKafkaConsumer,
        partitions: list[TopicPartition],
        ends: dict[TopicPartition, int],
        f: Facts,
    ) -> dict[str, StreamFacts]:
        """Fold every topic from offset 0 into the streams' facts; the envelopes folded go to the new generation's
        event log as they come, a chunk at a time (the generation is dropped if the rebuild fails), so the log is
        never all in memory."""
        state: dict[str, StreamFacts] = {}
        counts: dict[str, list[Any]] = {}
        log_rows: list[dict[str, Any]] = []
        async for _, messages in read_to_end(consumer, partitions, ends, max_records=20_000):
            if log_rows:
                async with self.engine.begin() as conn:
                    await copy_rows(conn, f.events, log_rows)
                log_rows = []
            for message in messages:
                env = _envelope(message.value)
                source = None if env is None else _source(env)
                if env is None or source is None:
                    continue
                facts_of = state.get(env.stream_id)
                if facts_of is None:
                    facts_of = state[env.stream_id] = empty(KIND[source], env.stream_id)
                if fold(facts_of, env):
                    log_rows.append(logged(env))
                    seen = counts.setdefault(source, [0, None])
                    seen[0] += 1
                    seen[1] = env.recorded_at if seen[1] is None else max(seen[1], env.recorded_at)
                    self.progress["applied"] += 1
        self.progress["streams"] = len(state)
        state["__topics__"] = StreamFacts(
            "topics", {}, [{"topic": k, "events": v[0], "last_event_at": v[1]} for k, v in sorted(counts.items())]
        )
        async with self.engine.begin() as conn:
            await copy_rows(conn, f.events, log_rows)
        return state

    async def _swap(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition], target: int) -> None:
        """Under the swap lock: apply what arrived since the replay, then point reads at the new generation."""
        f = facts(target)
        async with self.engine.begin() as conn:
            await hold(conn, SWAP_LOCK, shared=False)
            async for _, messages in read_to_end(consumer, partitions):  # the end offsets as of the lock
                for message in messages:
                    env = _envelope(message.value)
                    if env is not None and _source(env) is not None:
                        await apply(conn, f, env)
                        self.progress["applied"] += 1
            old = await conn.scalar(text("SELECT current FROM generation WHERE id = 1"))
            await conn.execute(
                text(
                    "UPDATE generation SET current = :g, building = NULL, state = 'live', finished_at = now(),"
                    " log_complete = true,"
                    " detail = CAST(:d AS JSONB) WHERE id = 1"
                ),
                {"g": target, "d": _json(self.progress)},
            )
        async with self.engine.begin() as conn:
            await drop_generation(conn, int(old))


async def abandon_interrupted(engine: AsyncEngine) -> None:
    """At start-up: a rebuild a dead process left half-done is dropped (the live generation is untouched)."""
    async with engine.begin() as conn:
        row = (await conn.execute(text("SELECT building, state FROM generation WHERE id = 1"))).one()
        if row.state == "rebuilding" and row.building is not None:
            await drop_generation(conn, row.building)
            await conn.execute(
                text(
                    "UPDATE generation SET building = NULL, state = 'live',"
                    " detail = jsonb_build_object('error', 'interrupted: run it again') WHERE id = 1"
                )
            )


async def bulk_load(conn: AsyncConnection, f: Facts, state: dict[str, StreamFacts]) -> None:
    tables: dict[str, list[dict[str, Any]]] = {
        "persons": [],
        "residences": [],
        "cases": [],
        "case_units": [],
        "abscondments": [],
        "case_planned_ends": [],
        "plans": [],
        "topics": [],
    }
    for stream in state.values():
        if stream.kind == "topics":
            tables[stream.kind] = stream.children
            continue
        tables[{"person": "persons", "case": "cases", "plan": "plans"}[stream.kind]].append(stream.row)
        for child in stream.children:
            name = child.get("table", "residences")
            tables[name].append({k: v for k, v in child.items() if k != "table"})
    for name, rows in tables.items():
        await copy_rows(conn, getattr(f, name), rows)


def _envelope(raw: bytes | None) -> Envelope | None:
    try:
        return Envelope.from_json(raw or b"")
    except (ValidationError, ValueError):
        return None  # the live consumer sends it to the DLQ; a rebuild skips it the same way


def _source(env: Envelope) -> str | None:
    with contextlib.suppress(UnknownEventError):
        return source_of(env)
    return None


def _json(value: Any) -> str:
    return json.dumps(value, default=str)
