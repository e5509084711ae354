"""A poison message parked in the DLQ is applied after a fix by `rehab dlq replay`, once, behind its stream."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.kernel.dlq import list_parked, reapply_parked, replay
from shared.kernel.events import Envelope
from shared.kernel.kafka import make_broker
from shared.kernel.subscriber import Subscription, attach
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


async def test_a_service_applies_its_parked_messages_again_itself_without_writing_another_s_topic(stack: Stack) -> None:
    """The ops page's replay: the message read again from its own topic, applied through the consumer that parked
    it, resolved once; a second replay finds nothing; a message that fails again stays parked."""
    fixed = {"yet": False}

    async def picky(conn: AsyncConnection, env: Envelope) -> None:
        if env.payload["n"] == 1 and not fixed["yet"]:
            raise ValueError("n=1 cannot be handled (a bug, fixed later)")
        await record_applied(conn, env)

    await append(stack, "s-b", 0, count=3)
    relay = stack.relay()
    while await relay.publish_batch():
        pass
    broker = make_broker(stack.settings)
    name = f"{stack.schema}-reapply"
    consumer = attach(broker, stack.engine, Subscription(name, (stack.topic,), picky), 200, 2)
    await broker.start()
    try:
        await wait_for(lambda: _count(stack, 2))
        assert await reapply_parked(stack.settings, stack.engine, {name: consumer}) == {
            "reapplied": 0,
            "failed_again": 1,
            "parked": 1,  # not fixed yet: parked again
        }
        fixed["yet"] = True
        counts = await reapply_parked(stack.settings, stack.engine, {name: consumer})
        assert counts["reapplied"] == 1 and counts["failed_again"] == 0
        assert (await reapply_parked(stack.settings, stack.engine, {name: consumer}))["parked"] == 0
    finally:
        await broker.stop()
    assert await stack.scalar("SELECT count(*) FROM applied WHERE stream_id = 's-b'") == 3
    assert await stack.scalar("SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL") == 0
