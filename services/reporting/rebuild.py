"""Rebuild: replay every topic from offset 0 into a fresh generation, then swap it in when caught up.

The replay folds events (the same `fold` as the live path) a chunk at a time and writes each chunk with COPY, so
its memory does not grow with the topics; a stream met again in a later chunk is read back and folded on.
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

from services.reporting.apply import SWAP_LOCK, apply_many, clear_many, hold, load_many
from services.reporting.facts import Facts, create_generation, drop_generation, facts
from services.reporting.fold import KIND, StreamFacts, empty, fold, source_of
from shared.base.settings import ServiceSettings
from shared.kernel.db import copy_rows
from shared.kernel.events import Envelope, UnknownEventError
from shared.kernel.kafka import make_admin, make_consumer, read_to_end

log = logging.getLogger("rehab.reporting.rebuild")


CHUNK = 20_000  # events folded and flushed together: memory is bounded by this, not by the topics' length


class Chunk:
    """The envelopes gathered for one flush, by stream in the order read, and the topics' counts so far."""

    def __init__(self, topics: dict[str, list[Any]] | None = None) -> None:
        self.streams: dict[str, list[tuple[str, Envelope]]] = {}
        self.kinds: dict[str, list[str]] = {}  # the chunk's stream ids by kind (person, case, plan)
        self.events = 0
        self.topics: dict[str, list[Any]] = topics if topics is not None else {}  # source: [events, last recorded]

    def add(self, source: str, env: Envelope) -> None:
        envelopes = self.streams.get(env.stream_id)
        if envelopes is None:
            envelopes = self.streams[env.stream_id] = []
            self.kinds.setdefault(KIND[source], []).append(env.stream_id)
        envelopes.append((source, env))
        self.events += 1


class Rebuild:
    """One rebuild at a time per service; progress is kept for `GET /projections/status`."""

    def __init__(
        self, engine: AsyncEngine, settings: ServiceSettings, topics: tuple[str, ...], chunk_events: int = CHUNK
    ) -> None:
        self.engine, self.settings, self.topics, self.chunk_events = engine, settings, topics, chunk_events
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
        self.progress = {"generation": target, "applied": 0, "streams": 0, "state": "replaying"}
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
                max_partition_fetch_bytes=1 << 20,  # the fetched batches wait in memory: 8 MiB a fetch at most
                fetch_max_bytes=8 << 20,
            )
            await consumer.start()
            try:
                partitions = await self._partitions()
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
                ends = await consumer.end_offsets(partitions)
                self.progress["end_offsets"] = {f"{tp.topic}:{tp.partition}": o for tp, o in ends.items()}
                await self._replay(consumer, partitions, ends, f)
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
    ) -> None:
        """Fold every topic from offset 0 into the new generation a chunk at a time, so that memory does not grow
        with the topics: the envelopes of CHUNK events are gathered by stream, then `_flush`ed and dropped. One
        chunk is written while the next is read and decoded (the database's work beside this process's)."""
        chunk = Chunk()
        flushing: asyncio.Task[None] | None = None  # the previous chunk's, written while this one is gathered
        try:
            async for _, messages in read_to_end(consumer, partitions, ends, max_records=5_000):
                for message in messages:
                    env = _envelope(message.value)
                    source = _source(env)
                    if env is None or source is None:
                        continue
                    chunk.add(source, env)
                    if chunk.events >= self.chunk_events:
                        if flushing is not None:
                            await flushing  # it must be written before the next chunk reads its streams back
                        flushing = asyncio.create_task(self._flush(f, chunk))
                        chunk = Chunk(chunk.topics)
                    elif chunk.events % 256 == 0:
                        await asyncio.sleep(0)  # the flush's COPY streams on meanwhile
            if flushing is not None:
                await flushing
            await self._flush(f, chunk)
        finally:
            if flushing is not None and not flushing.done():
                flushing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flushing
        async with self.engine.begin() as conn:
            rows = [{"topic": k, "events": v[0], "last_event_at": v[1]} for k, v in sorted(chunk.topics.items())]
            await copy_rows(conn, f.topics, rows)

    async def _flush(self, f: Facts, chunk: Chunk) -> None:
        """Fold a chunk's envelopes into their streams' facts and write them, in one transaction.

        A stream's events are on one partition in order, but partitions interleave, so a stream may have had
        events in an earlier chunk: its facts are read back first (the live path's `load`), folded on, and
        replaced, exactly as the live path's `store` would. Every other stream starts empty and is COPYed.
        """
        async with self.engine.begin() as conn:
            state: dict[str, StreamFacts] = {}
            for kind, ids in chunk.kinds.items():
                state.update(await load_many(conn, f, kind, ids))
            for kind, ids in chunk.kinds.items():
                await clear_many(conn, f, kind, [i for i in ids if i in state])
            log_rows: list[dict[str, Any]] = []
            new = 0
            for stream_id, envelopes in chunk.streams.items():
                facts_of = state.get(stream_id)
                if facts_of is None:
                    facts_of = state[stream_id] = empty(KIND[envelopes[0][0]], stream_id)
                    new += 1
                for source, env in envelopes:
                    if fold(facts_of, env):
                        log_rows.append(_logged(env))
                        seen = chunk.topics.get(source)
                        if seen is None:
                            chunk.topics[source] = [1, env.recorded_at]
                        else:
                            seen[0] += 1
                            if env.recorded_at > seen[1]:
                                seen[1] = env.recorded_at
            await bulk_load(conn, f, state)
            await copy_rows(conn, f.events, log_rows)
        self.progress["applied"] += len(log_rows)
        self.progress["streams"] += new

    async def _swap(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition], target: int) -> None:
        """Under the swap lock: apply what arrived since the replay, then point reads at the new generation."""
        f = facts(target)
        async with self.engine.begin() as conn:
            await hold(conn, SWAP_LOCK, shared=False)
            async for _, messages in read_to_end(consumer, partitions):  # the end offsets as of the lock
                envs = [env for env in map(_envelope, (m.value for m in messages)) if env and _source(env)]
                if envs:
                    await apply_many(conn, f, envs)
                    self.progress["applied"] += len(envs)
            old = await conn.scalar(text("SELECT current FROM generation WHERE id = 1"))
            await conn.execute(
                text(
                    "UPDATE generation SET current = :g, building = NULL, state = 'live', finished_at = now(),"
                    " log_complete = true,"
                    " detail = CAST(:d AS JSONB) WHERE id = 1"
                ),
                {"g": target, "d": _json(self.progress)},
            )
        try:
            async with self.engine.begin() as conn:
                await drop_generation(conn, int(old))
        except Exception:  # the swap is committed: failing now would drop the generation just made live
            log.exception("generation %d is no longer read but was not dropped", old)


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


def _logged(env: Envelope) -> dict[str, Any]:
    """`apply.logged`, the envelope as JSON text: pydantic writes it faster than json.dumps of its dump."""
    return {
        "stream_id": env.stream_id,
        "version": env.stream_version,
        "recorded_at": env.recorded_at,
        "envelope": env.model_dump_json(),
    }


def _envelope(raw: bytes | None) -> Envelope | None:
    try:
        return Envelope.from_json(raw or b"")
    except (ValidationError, ValueError):
        return None  # the live consumer sends it to the DLQ; a rebuild skips it the same way


def _source(env: Envelope | None) -> str | None:
    """The envelope's source, None for none or for one the live consumer would dead-letter (skipped the same way)."""
    if env is None:
        return None
    try:
        return source_of(env)
    except UnknownEventError:
        return None


def _json(value: Any) -> str:
    return json.dumps(value, default=str)
