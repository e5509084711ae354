"""The whole test session's end: its result is the exit status, whatever the interpreter's teardown does after.

CI once saw `948 passed` and then `Segmentation fault` from the pytest process itself: after the last report was
written, while the interpreter tore itself down, a native library's thread (librdkafka's, under confluent-kafka's
AdminClient, is the known case: its callbacks may run Python code and trigger a collection from its own thread)
touched an object already freed. The teardown of the test runner is not what the tests test, so once every report
is written, the native clients still alive are collected on the main thread, and the process ends with the
session's status without running the interpreter's finalization. `PYTHONFAULTHANDLER=1` (set by the Makefile)
prints every thread's stack should anything crash before that.
"""

from __future__ import annotations

import gc
import os
import sys

import pytest

_status: dict[str, int] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _status["exit"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if "exit" not in _status or hasattr(config, "workerinput"):
        return  # the session did not run to its end (a usage error, --help): pytest's own exit is the right one
    gc.collect()  # native clients no test holds any more are destroyed here, on the main thread
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_status["exit"])
