"""schemathesis against each service's OpenAPI: whatever a client sends, no answer is a 5xx."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.harness import System
from tests.reliability.conftest import FUZZED
from tests.support.api import token

pytestmark = pytest.mark.integration
ROLE = {
    "registry": ("district_officer", "220"),
    "cases": ("district_officer", "220"),
    "quotas": ("province_officer", "24"),
    "reporting": ("district_officer", "220"),
}


@pytest.fixture(scope="module")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    async with System("fz", tmp_path_factory.mktemp("fuzz")) as system:
        yield system


# `make test` replays the same derandomized examples every run; `make test-reliability` (REHAB_FUZZ_RANDOM=1)
# draws new ones, four times as many.
RANDOM = os.environ.get("REHAB_FUZZ_RANDOM") == "1"
FUZZ = settings(
    max_examples=100 if RANDOM else 25,
    derandomize=not RANDOM,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.mark.parametrize("name", list(ROLE))
def test_no_input_gets_a_server_error(running: System, name: str) -> None:
    schema = schemathesis.openapi.from_url(f"{running[name].url}/openapi.json")
    headers = token(*ROLE[name], sub=f"fuzz-{name}")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @FUZZ
        def check(case: Any) -> None:
            response = case.call(headers=headers, timeout=30)
            FUZZED[name] = FUZZED.get(name, 0) + 1
            if response.status_code >= 500:
                print("SERVER ERROR", case.method, case.formatted_path, case.query, repr(case.body)[:300])
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

        check()
    print(f"{name}: {FUZZED.get(name, 0)} generated requests, {len(failures)} server errors")
    assert not failures, "\n".join(failures[:10])
