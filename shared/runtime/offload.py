"""CPU work off the event loop: short steps on a thread, the parsing of uploaded files in a worker process.

A thread shares the GIL with the event loop, and on a busy machine a thread holding it while the OS runs something
else stalls the loop too; a file's parse (tens of seconds for the largest list the limits allow) therefore runs in
a separate process, which costs the service neither the GIL nor the memory of a hostile file. Processes are
spawned, never forked: a fork of a process with running threads can inherit a held lock.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from shared.runtime.tabular import UnreadableFile

T = TypeVar("T")
PROCESSES = 2
_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rehab-cpu")  # threads start on first use
_pool: dict[str, ProcessPoolExecutor] = {}


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` on a worker thread: for steps of a few milliseconds (validating a chunk, sealing)."""
    return await asyncio.get_running_loop().run_in_executor(_THREADS, fn, *args)


async def in_process(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a worker process (two per service; more wait their turn); its exception is raised here."""
    pool = _pool.get("parsers")
    if pool is None:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(PROCESSES, mp_context=context, initializer=_started, initargs=(os.getpid(),))
        _pool["parsers"] = pool
    try:
        ok, value = await asyncio.get_running_loop().run_in_executor(pool, _run, fn, args)
    except BrokenProcessPool:  # the worker died (killed for its memory, say): a new pool for the next file
        _pool.pop("parsers", None)
        raise UnreadableFile("the file could not be read: the reader stopped before the end") from None
    if ok:
        return value  # type: ignore[no-any-return]
    kind, exc_args, state = value
    error = kind.__new__(kind)  # rebuilt by hand: exceptions whose __init__ takes several arguments do not unpickle
    error.args = exc_args
    error.__dict__.update(state)
    raise error


async def start_processes() -> None:
    """Start the worker processes now, not on the first upload: a spawn takes a second or two of CPU."""
    await asyncio.gather(*(in_process(os.getpid) for _ in range(PROCESSES)))


def _started(parent: int) -> None:
    """In each worker process: niced, since a parse is background work and the service's own threads get the CPU
    first; and gone once the service is, since a service killed outright (SIGKILL, the OOM killer) cannot shut its
    pool down, and its workers would otherwise live on, orphaned, holding their memory."""
    os.nice(10)
    threading.Thread(target=_exit_with, args=(parent,), name="rehab-parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _run(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bool, Any]:
    try:
        return True, fn(*args)
    except Exception as exc:
        return False, (type(exc), exc.args, exc.__dict__)
