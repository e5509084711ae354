"""Per-account limits that hold across replicas: pyrate-limiter's GCRA, its state in one PostgreSQL row per key.

pyrate-limiter decides (its `StateBucket` and `GCRA` algorithm); this module only stores. Its own
`PostgresBucket` was not used: it keeps one table per bucket (so one table per account), speaks synchronous
psycopg beside the service's asyncpg pool, and answers "limited" whenever another request holds the table lock.
A `StateStore` is the library's extension point for shared state: here a row read and written under its row
lock in one transaction of the service's own engine, so every replica spends from the same budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from inspect import isawaitable
from math import ceil

from prometheus_client import Counter
from pyrate_limiter import GCRA, Decision, Duration, Rate, RateItem, StateAlgorithm, StateBucket, StateStore, WallClock
from sqlalchemy import BigInteger, Column, DateTime, MetaData, Table, Text, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.runtime.errors import AppError


def rate_limits_table(metadata: MetaData) -> Table:
    """The limits' state in a service's metadata: one row per account and limit."""
    return Table(
        "rate_limits",
        metadata,
        Column("key", Text, primary_key=True),
        Column("state", ARRAY(BigInteger), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


rate_limits = rate_limits_table(MetaData())  # what the store reads and writes

LIMITED = Counter(
    "rehab_rate_limited_total", "Requests refused because an account went past a limit", ["service", "limit"]
)


class RateLimited(AppError):
    """429: the account went past a limit; `Retry-After` says when the next request fits."""

    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after_seconds=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class PostgresStateStore(StateStore):
    """One key's algorithm state in a `rate_limits` row; `check` reads, steps and writes it under the row lock."""

    is_async = True
    default_clock = WallClock()  # replicas compare timestamps: a monotonic clock means nothing across machines

    def __init__(self, engine: AsyncEngine, key: str) -> None:
        self.engine, self.key = engine, key

    async def check(self, algorithm: StateAlgorithm, rates: list[Rate], now: int, weight: int) -> Decision:
        initial = [int(v) for v in algorithm.initial(rates)]
        async with self.engine.begin() as conn:
            # an upsert that changes nothing returns the stored state with the row locked until commit
            locked = (
                insert(rate_limits)
                .values(key=self.key, state=initial, updated_at=func.now())
                .on_conflict_do_update(index_elements=["key"], set_={"key": rate_limits.c.key})
                .returning(rate_limits.c.state)
            )
            stored: Sequence[int] = (await conn.execute(locked)).scalar_one()
            state = tuple(float(v) for v in stored) if len(stored) == len(rates) else tuple(map(float, initial))
            new_state, decision = algorithm.step(rates, state, now, weight)
            if decision.allowed:
                values = {"state": [int(v) for v in new_state], "updated_at": func.now()}
                await conn.execute(update(rate_limits).where(rate_limits.c.key == self.key).values(values))
        return decision

    async def read(self, algorithm: StateAlgorithm, rates: list[Rate]) -> tuple[float, ...]:
        async with self.engine.connect() as conn:
            stored = await conn.scalar(select(rate_limits.c.state).where(rate_limits.c.key == self.key))
        return tuple(float(v) for v in stored) if stored and len(stored) == len(rates) else algorithm.initial(rates)

    async def reset(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(rate_limits).where(rate_limits.c.key == self.key))


class AccountLimit:
    """A limit per account and per minute and day (e.g. identity lookups); `spend` raises `RateLimited` past it."""

    def __init__(
        self, engine: AsyncEngine, service: str, name: str, per_minute: int, per_day: int, message: str
    ) -> None:
        self.engine, self.service, self.name, self.message = engine, service, name, message
        self.rates = [Rate(per_minute, Duration.MINUTE), Rate(per_day, Duration.DAY)]
        StateBucket(self.rates)  # refuses a per-day limit that is not above the per-minute one, at start-up

    async def spend(self, account: str) -> None:
        """Count one use by `account`, or refuse it with the seconds until the next one fits."""
        store = PostgresStateStore(self.engine, f"{self.name}:{account}")
        bucket = StateBucket(self.rates, GCRA(), store, store.default_clock)
        pending = bucket.put_decision(RateItem(self.name, store.default_clock.now()))
        decision = await pending if isawaitable(pending) else pending
        if decision.allowed:
            return
        LIMITED.labels(self.service, self.name).inc()
        retry_after = max(1, ceil((decision.retry_after_ms or 1000) / 1000))
        raise RateLimited(self.message.format(retry_after=retry_after), retry_after)
