"""A poison message parked in the DLQ is applied after a fix by `rehab dlq replay`, once, behind its stream."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.kernel.dlq import list_parked, replay
from shared.kernel.events import Envelope
from tests.integration.conftest import Stack, consuming, record_applied
from tests.integration.test_kernel import _count, append
from tests.support.polling import wait_for

pytestmark = pytest.mark.integration


async def test_replay_after_a_fix_applies_the_parked_event_once(stack: Stack) -> None:
    fixed = {"yet": False}

    async def picky(conn: AsyncConnection, env: Envelope) -> None:
        if env.payload["n"] == 1 and not fixed["yet"]:
            raise ValueError("n=1 cannot be handled (a bug, fixed later)")
        await record_applied(conn, env)

    await append(stack, "s-a", 0, count=3)  # n = 0, 1, 2: the middle one is poison until the fix
    relay = stack.relay()
    while await relay.publish_batch():
        pass
    async with consuming(stack, picky):
        await wait_for(lambda: _count(stack, 2))
        parked = await list_parked(stack.settings, stack.topic)
        assert [(p.replayed, "cannot be handled" in p.error) for p in parked] == [(False, True)]

        fixed["yet"] = True
        assert await replay(stack.settings, stack.topic) == 1
        await wait_for(lambda: _count(stack, 3))
        assert await replay(stack.settings, stack.topic) == 0  # nothing is sent twice
    assert await stack.scalar("SELECT count(*) FROM applied WHERE stream_id = 's-a'") == 3
    assert await stack.scalar("SELECT count(*) FROM dead_letters WHERE resolved_at IS NOT NULL") == 1
    assert [p.replayed for p in await list_parked(stack.settings, stack.topic)] == [True]
