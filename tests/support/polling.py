"""The one way tests wait: poll a condition until it holds or a deadline passes, never a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(
    predicate: Callable[[], Awaitable[bool]], timeout: float = 60, interval: float = 0.2, what: str = "condition"
) -> None:
    """Return as soon as `predicate()` is true; fail the test if it is still false after `timeout` seconds."""
    await wait_until(predicate, bool, timeout, interval, what)


async def wait_until(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float = 60,
    interval: float = 0.2,
    what: str = "condition",
) -> T:
    """Poll `probe()` until `done(value)`; return that value, or fail naming `what` and the last value seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if done(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:g} s (last: {value!r})")
        await asyncio.sleep(interval)
