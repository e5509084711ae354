"""Rebuild: replay every topic from offset 0 into a fresh generation, then swap it in when caught up.

The replay folds events (the same `fold` as the live path) a chunk at a time and writes each chunk with COPY, so
its memory does not grow with the topics; a stream met again in a later chunk is read back and folded on.
A long replay is split by partition between this process and a worker process (`_shards`): decoding and folding
are Python's work, a core each, and a stream's events are all on one partition, so no two shards write one stream.
The swap then takes the lock the live consumer takes for every event, applies what arrived meanwhile, and
moves the generation pointer, in one transaction: reads never see a half-built state, and nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from operator import itemgetter
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError
from sqlalchemy import JSON, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.reporting.apply import SWAP_LOCK, apply_many, clear_many, hold, load_many
from services.reporting.facts import Facts, create_generation, drop_generation, facts
from services.reporting.fold import KIND, StreamFacts, empty, fold, source_of
from shared.base.settings import ServiceSettings
from shared.kernel.db import copy_records, copy_rows, make_engine
from shared.kernel.events import Envelope, UnknownEventError
from shared.kernel.kafka import make_admin, make_consumer, read_to_end

log = logging.getLogger("rehab.reporting.rebuild")


CHUNK = 10_000  # events in memory at once, all shards together: memory is bounded by this, not by the topics
WORKERS = min(2, os.cpu_count() or 1)  # shards of a long replay: this process and WORKERS - 1 worker processes
PARALLEL_FROM = 100_000  # a shorter replay stays in this process: a worker process takes a second or two to start
LOG_COLUMNS = ("stream_id", "version", "recorded_at", "envelope")  # the event log's, as `Shard.flush` writes them

Topics = dict[str, list[Any]]  # source: [events folded, the last one's recorded_at]


class Chunk:
    """The envelopes gathered for one flush, by stream in the order read, and the topics' counts so far (filled
    by `Shard._run`)."""

    def __init__(self, topics: Topics | None = None) -> None:
        self.streams: dict[str, list[tuple[str, Envelope]]] = {}
        self.kinds: dict[str, list[str]] = {}  # the chunk's stream ids by kind (person, case, plan)
        self.events = 0
        self.topics: Topics = topics if topics is not None else {}


class Rebuild:
    """One rebuild at a time per service; progress is kept for `GET /projections/status`."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: ServiceSettings,
        topics: tuple[str, ...],
        chunk_events: int = CHUNK,
        workers: int = WORKERS,
        parallel_from: int = PARALLEL_FROM,
    ) -> None:
        self.engine, self.settings, self.topics, self.chunk_events = engine, settings, topics, chunk_events
        self.workers, self.parallel_from = workers, parallel_from
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
            consumer = make_consumer(self.settings, enable_auto_commit=False)  # for the offsets and the swap
            await consumer.start()
            try:
                partitions = await self._partitions()
                consumer.assign(partitions)
                starts = await consumer.beginning_offsets(partitions)
                ends = await consumer.end_offsets(partitions)
                self.progress["end_offsets"] = {f"{tp.topic}:{tp.partition}": o for tp, o in ends.items()}
                sizes = {tp: ends[tp] - starts[tp] for tp in partitions}
                shards = _shards(sizes, self.workers if sum(sizes.values()) >= self.parallel_from else 1)
                await self._replay(shards, ends, f)
                for tp in partitions:  # the swap reads on from where the replay stopped
                    consumer.seek(tp, ends[tp])
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

    async def _replay(self, shards: list[list[TopicPartition]], ends: dict[TopicPartition, int], f: Facts) -> None:
        """Fold every topic from offset 0 into the new generation: the first shard of partitions in this process,
        each other one in a worker process of its own (`python -m services.reporting.rebuild`), side by side;
        then the topics' counts of all of them."""
        chunk_events = max(1, self.chunk_events // len(shards))  # CHUNK events in memory at once in all
        here = Shard(self.engine, f, chunk_events)
        counts: list[list[int]] = [[0, 0] for _ in shards[1:]]  # each worker's events applied and streams made
        workers: list[asyncio.subprocess.Process] = []
        tasks: list[asyncio.Task[Topics]] = []
        try:
            if len(shards) > 1:
                url = self.engine.url.render_as_string(hide_password=False)
                async with self.engine.connect() as conn:
                    schema = str(await conn.scalar(text("SELECT current_schema()")))
                for part, counted in zip(shards[1:], counts, strict=True):
                    job = (url, schema, self.settings, part, ends, f.generation, chunk_events)
                    worker = await _start_worker()  # first: it imports while this process replays
                    workers.append(worker)
                    tasks.append(asyncio.create_task(_in_worker(worker, pickle.dumps(job), counted)))
            tasks.insert(0, asyncio.create_task(here.run(self.settings, shards[0], ends)))
            pending: set[asyncio.Task[Topics]] = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending, timeout=0.25, return_when=asyncio.FIRST_EXCEPTION)
                self.progress["applied"] = here.applied + sum(c[0] for c in counts)
                self.progress["streams"] = here.streams + sum(c[1] for c in counts)
                for task in done:
                    task.result()  # a shard that failed fails the rebuild; the others are stopped below
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            for worker in workers:
                if worker.returncode is None:
                    worker.kill()
                    await worker.wait()
        topics: Topics = {}
        for task in tasks:
            for source, (events, last) in task.result().items():
                seen = topics.setdefault(source, [0, last])
                seen[0] += events
                seen[1] = max(seen[1], last)
        async with self.engine.begin() as conn:
            rows = [{"topic": k, "events": v[0], "last_event_at": v[1]} for k, v in sorted(topics.items())]
            await copy_rows(conn, f.topics, rows)

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


class Shard:
    """The replay of some partitions into generation `f`, a chunk at a time, counting the events applied and the
    streams made as it goes; `flushed` is called after each chunk (a worker reports its progress with it)."""

    def __init__(
        self, engine: AsyncEngine, f: Facts, chunk_events: int, flushed: Callable[[Shard], None] | None = None
    ) -> None:
        self.engine, self.f, self.chunk_events, self.flushed = engine, f, chunk_events, flushed
        self.applied = self.streams = 0
        self.written = Written()  # the streams of the chunks flushed so far (a few may be wrongly said to be)
        self.waited = 0.0  # seconds a chunk waited for the previous one to be written

    async def run(
        self, settings: ServiceSettings, partitions: list[TopicPartition], ends: dict[TopicPartition, int]
    ) -> Topics:
        with _few_collections():
            return await self._run(settings, partitions, ends)

    async def _run(
        self, settings: ServiceSettings, partitions: list[TopicPartition], ends: dict[TopicPartition, int]
    ) -> Topics:
        """Fold `partitions` from their start up to `ends`; returns the topics' counts. The envelopes of a chunk
        are gathered by stream, then flushed and dropped; one chunk is written while the next is read and decoded
        (the database's work beside this process's)."""
        consumer = make_consumer(
            settings,
            enable_auto_commit=False,
            max_partition_fetch_bytes=1 << 20,  # the fetched batches wait in memory: 8 MiB a fetch at most
            fetch_max_bytes=8 << 20,
        )
        await consumer.start()
        chunk = Chunk()
        flushing: asyncio.Task[None] | None = None  # the previous chunk's, written while this one is gathered
        decode = Envelope.__pydantic_validator__.validate_json  # `Envelope.from_json` without its two Python calls
        sources: dict[tuple[str, int], str] = {}  # `source_of` by type and version, met in these partitions
        started = time.perf_counter()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            async for _, messages in read_to_end(consumer, partitions, ends, max_records=5_000):
                for message in messages:  # once per event of the topics: `_envelope`, `_source`, `Chunk.add` inline
                    try:
                        env = decode(message.value or b"")
                        source = sources.get((env.event_type, env.schema_version)) or _known(sources, env)
                    except ValueError:  # invalid or unknown (UnknownEventError): dead-lettered live, skipped here
                        continue
                    envelopes = chunk.streams.get(env.stream_id)
                    if envelopes is None:
                        envelopes = chunk.streams[env.stream_id] = []
                        chunk.kinds.setdefault(KIND[source], []).append(env.stream_id)
                    envelopes.append((source, env))
                    chunk.events += 1
                    if chunk.events >= self.chunk_events:
                        if flushing is not None:
                            waited = time.perf_counter()
                            await flushing  # it must be written before the next chunk reads its streams back
                            self.waited += time.perf_counter() - waited
                        flushing = asyncio.create_task(self.flush(chunk))
                        chunk = Chunk(chunk.topics)
                    elif chunk.events % 256 == 0:
                        await asyncio.sleep(0)  # the flush's COPY streams on meanwhile
            if flushing is not None:
                await flushing
            await self.flush(chunk)
            log.info(
                "shard of %d partitions: %d events in %.1fs, %.1fs of it waiting for the database",
                len(partitions),
                self.applied,
                time.perf_counter() - started,
                self.waited,
            )
        finally:
            if flushing is not None and not flushing.done():
                flushing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flushing
            await consumer.stop()
        return chunk.topics

    async def flush(self, chunk: Chunk) -> None:
        """Fold a chunk's envelopes into their streams' facts and write them, in one transaction.

        A stream's events are on one partition in order, but partitions interleave, so a stream may have had
        events in an earlier chunk: its facts are read back first (the live path's `load`), folded on, and
        replaced, exactly as the live path's `store` would. Every other stream starts empty and is COPYed.
        """
        f = self.f
        async with self.engine.begin() as conn:
            state: dict[str, StreamFacts] = {}
            written = self.written
            for kind, ids in chunk.kinds.items():  # only streams an earlier chunk may have written are looked for
                if met := [i for i in ids if i in written]:
                    state.update(await load_many(conn, f, kind, met))
                    await clear_many(conn, f, kind, [i for i in met if i in state])
                written.update(ids)
            logged: list[tuple[Any, ...]] = []  # `apply.logged`, as tuples: the envelope as pydantic writes JSON
            dump = Envelope.__pydantic_serializer__.to_json
            topics = chunk.topics
            new = 0
            for stream_id, envelopes in chunk.streams.items():
                facts_of = state.get(stream_id)
                if facts_of is None:
                    facts_of = state[stream_id] = empty(KIND[envelopes[0][0]], stream_id)
                    new += 1
                for source, env in envelopes:
                    if fold(facts_of, env):
                        envelope = dump(env).decode()  # `env.model_dump_json()` without its Python wrapper
                        logged.append((env.stream_id, env.stream_version, env.recorded_at, envelope))
                        seen = topics.get(source)
                        if seen is None:
                            topics[source] = [1, env.recorded_at]
                        else:
                            seen[0] += 1
                            if env.recorded_at > seen[1]:
                                seen[1] = env.recorded_at
            await bulk_load(conn, f, state)
            await copy_records(conn, f.events, LOG_COLUMNS, logged)
        self.applied += len(logged)
        self.streams += new
        if self.flushed is not None:
            self.flushed(self)


class Written:
    """The stream ids a shard has written, in a fixed 8 MiB whatever their number (a Bloom filter): an id added is
    always found again, and one never added is found by mistake rarely (a million streams: 1 in 1,000; ten
    million: 1 in 15), which only costs looking for it in the database. Most streams of a chunk are new: a
    rebuild then asks the database for the few that may not be, not for every stream of every chunk."""

    BITS = 1 << 26

    def __init__(self) -> None:
        self.bits = bytearray(self.BITS // 8)

    def update(self, ids: list[str]) -> None:
        bits, mask = self.bits, self.BITS - 1
        for stream_id in ids:
            h = hash(stream_id)  # str's hash: cached in the string, the same for the whole of this process
            for i in (h & mask, (h >> 32) & mask):
                bits[i >> 3] |= 1 << (i & 7)

    def __contains__(self, stream_id: str) -> bool:
        h, mask, bits = hash(stream_id), self.BITS - 1, self.bits
        i, j = h & mask, (h >> 32) & mask
        return bool(bits[i >> 3] & (1 << (i & 7))) and bool(bits[j >> 3] & (1 << (j & 7)))


def _shards(sizes: dict[TopicPartition, int], count: int) -> list[list[TopicPartition]]:
    """The partitions in at most `count` shards of about as many events each, every partition in one: the largest
    first, each to the shard with the fewest events so far (an empty partition to the first shard)."""
    shards: list[list[TopicPartition]] = [[] for _ in range(max(1, count))]
    events = [0] * len(shards)
    for tp in sorted(sizes, key=lambda tp: (-sizes[tp], tp.topic, tp.partition)):
        least = events.index(min(events)) if sizes[tp] > 0 else 0
        shards[least].append(tp)
        events[least] += sizes[tp]
    return [shards[0], *(shard for shard in shards[1:] if shard)]


def _known(sources: dict[tuple[str, int], str], env: Envelope) -> str:
    """`source_of(env)`, remembered for its type and version (it raises for one a rebuild skips, remembered not)."""
    source = sources[(env.event_type, env.schema_version)] = source_of(env)
    return source


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """Fewer garbage collections while a shard replays. A chunk holds hundreds of thousands of objects, and each
    full collection walks them all: at the usual thresholds that tripled the cost of decoding an envelope. The
    chunks hold no reference cycles (reference counting frees them), so collecting less often costs no memory."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 100_000), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


async def _start_worker() -> asyncio.subprocess.Process:
    """A worker process (this module's `_worker`), on this process's path; its errors go to this one's stderr."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.reporting.rebuild",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )


async def _in_worker(worker: asyncio.subprocess.Process, job: bytes, counts: list[int]) -> Topics:
    """Give `worker` its shard (pickled: this process's own child) and follow it: `counts` gets its progress, and
    its topics' counts are returned when it is done; its failure, or its death, is raised here."""
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write(job)
    await worker.stdin.drain()
    worker.stdin.close()
    topics: Topics | None = None
    async for line in worker.stdout:
        kind, _, rest = line.decode().rstrip("\n").partition(" ")
        if kind == "progress":
            counts[0], counts[1] = (int(n) for n in rest.split())
        elif kind == "done":
            topics = {k: [v[0], datetime.fromisoformat(v[1])] for k, v in json.loads(rest).items()}
        elif kind == "failed":
            raise RuntimeError(f"a rebuild worker failed: {rest}")
    code = await worker.wait()
    if topics is None or code != 0:
        raise RuntimeError(f"a rebuild worker exited with {code} before it was done")
    return topics


def _worker() -> None:
    """A worker process: replay the shard read on stdin with an engine and a consumer of its own, reporting its
    progress after each chunk and then its topics' counts on stdout, one line each."""
    url, schema, settings, partitions, ends, generation, chunk_events = pickle.loads(sys.stdin.buffer.read())

    def report(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def progress(shard: Shard) -> None:
        report(f"progress {shard.applied} {shard.streams}")

    async def replay() -> Topics:
        engine = make_engine(url, schema, 2, application_name="rehab-rebuild")
        try:
            shard = Shard(engine, facts(generation), chunk_events, progress)
            return await shard.run(settings, partitions, ends)
        finally:
            await engine.dispose()

    try:
        topics = asyncio.run(replay())
    except BaseException as exc:
        report(f"failed {type(exc).__name__}: {exc}".replace("\n", " "))
        raise
    report("done " + json.dumps({k: [v[0], v[1].isoformat()] for k, v in topics.items()}))


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
    """COPY the facts of `state`'s streams into `f`'s empty (or cleared) tables."""
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
    mains = {"person": tables["persons"], "case": tables["cases"], "plan": tables["plans"]}
    for stream in state.values():
        if stream.kind == "topics":
            tables[stream.kind] = stream.children
            continue
        mains[stream.kind].append(stream.row)
        for child in stream.children:
            tables[child.get("table", "residences")].append(child)
    for name, rows in tables.items():
        if not rows:
            continue
        table = getattr(f, name)
        columns = [c.name for c in table.c]
        if any(isinstance(c.type, JSON) for c in table.c):  # plans, topics: few rows, their JSON written by copy_rows
            await copy_rows(conn, table, [{c: row[c] for c in columns} for row in rows])
            continue
        values = itemgetter(*columns)  # each row's values in the table's order, in C (a child's "table" left out)
        await copy_records(conn, table, columns, [values(row) for row in rows])


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


if __name__ == "__main__":
    _worker()
