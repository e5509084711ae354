"""A registry service running in-process on a fresh schema, against the real PostgreSQL and Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.registry.app import spec
from tests.support.services import ServiceClient, fresh_schema, isolated_topics, running_service

TAY_YEN_TU, AN_BA, AN_CHAU = "07616", "07660", "07615"  # communes of Sơn Động district (220), Bắc Giang (24)
SON_DONG, BAC_GIANG = "220", "24"
THO_XUONG = "07201"  # a ward of Bắc Giang city (213): another district


@pytest.fixture(scope="module")
async def registry() -> AsyncIterator[ServiceClient]:
    async with (
        isolated_topics("reg") as prefix,
        fresh_schema("reg") as schema,
        running_service(spec, "registry", schema, prefix) as client,
    ):
        yield client


def person(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1990-04-12",
        "sex": "male",
        "commune_code": TAY_YEN_TU,
        "village": "Thôn Đồng Thanh",
        "status": "user",
        "source": "police_review",
        "recorded_on": "2024-03-01",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}
