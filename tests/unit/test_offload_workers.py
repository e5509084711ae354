"""A service killed outright (SIGKILL, the OOM killer) cannot shut its worker processes down: they must go with it,
not live on orphaned (the fault tests kill services hundreds of times, and each left its parsers behind)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICE = """
import asyncio, os, sys, time
from shared.runtime.offload import in_process, start_processes
async def main():
    await start_processes()
    pids = {await in_process(os.getpid) for _ in range(8)}
    print(" ".join(map(str, sorted(pids))), flush=True)
asyncio.run(main())
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in state  # a zombie has exited; only its entry waits for init to reap it


def test_worker_processes_exit_when_their_service_is_killed() -> None:
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert service.stdout is not None
        workers = [int(pid) for pid in service.stdout.readline().split()]
        assert workers and all(alive(pid) for pid in workers)
    finally:
        service.send_signal(signal.SIGKILL)
        service.wait()
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if alive(pid)]
