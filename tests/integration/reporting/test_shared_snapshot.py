"""A report above a commune runs its statements side by side on more connections (`shared_snapshot`): every one of
them must read the state its first connection reads, whatever commits meanwhile, or a report's parts would not add up.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from services.reporting.facts import shared_snapshot
from services.reporting.indicators import together
from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from tests.support.services import fresh_schema, owner_dsn

pytestmark = pytest.mark.integration


async def test_lanes_read_the_snapshot_of_the_report_s_transaction_not_what_commits_after_it() -> None:
    async with fresh_schema("lanes") as schema:
        engine = make_engine(owner_dsn(ServiceSettings()), schema, 4)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE facts (n int)"))
                await conn.execute(text("INSERT INTO facts VALUES (1), (2)"))
            async with engine.begin() as conn:
                await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
                assert await conn.scalar(text("SELECT count(*) FROM facts")) == 2
                async with engine.begin() as writer:  # committed after the report's snapshot was taken
                    await writer.execute(text("INSERT INTO facts VALUES (3)"))
                async with shared_snapshot(engine, conn, 2) as lanes:
                    assert len(lanes) == 2
                    counts = [await lane.scalar(text("SELECT count(*) FROM facts")) for lane in lanes]
                    assert counts == [2, 2]
            async with engine.connect() as conn:
                assert await conn.scalar(text("SELECT count(*) FROM facts")) == 3
        finally:
            await engine.dispose()


async def test_together_cancels_the_rest_and_raises_the_failure_itself() -> None:
    finished: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(5)
        finished.append("slow")

    async def refused() -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await together(slow(), refused())
    assert finished == []
    assert await together(asyncio.sleep(0, "a"), asyncio.sleep(0, "b")) == ["a", "b"]
