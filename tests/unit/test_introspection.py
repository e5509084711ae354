"""Asking the issuer whether a token is still active (RFC 7662), over real HTTP: the answer, its reuse, a failure."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

from shared.runtime.auth import Introspection
from shared.runtime.errors import Unauthorized
from tests.support.stub_http import StubServer


class Endpoint:
    """An introspection endpoint that knows which tokens are active and counts the questions."""

    def __init__(self) -> None:
        self.active: set[str] = set()
        self.asked: list[tuple[str, str]] = []  # (client credentials, token)
        self.status = 200
        self.stub = StubServer(self.answer, "/introspect")
        self.uri = self.stub.uri

    def answer(self, _: str, headers: Any, body: bytes) -> tuple[int, Any]:
        token = parse_qs(body.decode())["token"][0]
        self.asked.append((base64.b64decode(headers["Authorization"].split()[1]).decode(), token))
        return self.status, {"active": token in self.active}


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.stub.close()


def test_the_issuers_answer_decides_and_is_asked_as_the_services_client(endpoint: Endpoint) -> None:
    endpoint.active = {"live"}
    check = Introspection(endpoint.uri, "rehab-services", "s3cret", cache_seconds=0)
    assert check.active("live") is True
    assert check.active("revoked") is False
    assert endpoint.asked == [("rehab-services:s3cret", "live"), ("rehab-services:s3cret", "revoked")]


def test_an_answer_is_reused_for_its_period_then_asked_again(endpoint: Endpoint) -> None:
    endpoint.active = {"t"}
    check = Introspection(endpoint.uri, "c", "s", cache_seconds=0.3)
    assert all(check.active("t") for _ in range(20))
    assert len(endpoint.asked) == 1  # one question per token per period
    endpoint.active = set()  # the account is disabled
    assert check.active("t") is True  # still the reused answer
    time.sleep(0.35)
    assert check.active("t") is False
    assert len(endpoint.asked) == 2


def test_an_issuer_that_fails_or_does_not_answer_refuses_the_token(endpoint: Endpoint) -> None:
    endpoint.status = 500
    with pytest.raises(Unauthorized, match="answered 500"):
        Introspection(endpoint.uri, "c", "s").active("t")
    endpoint.stub.close()
    with pytest.raises(Unauthorized, match="unreachable"):
        Introspection(endpoint.uri, "c", "s").active("t")
