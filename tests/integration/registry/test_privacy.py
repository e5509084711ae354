"""Nothing on the registry topic identifies a person: no name, citizen id, birth date or village in any event."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from tests.integration.registry.conftest import AN_BA, SON_DONG, TAY_YEN_TU, person
from tests.integration.registry.test_imports import csv_file, upload
from tests.support.polling import wait_for
from tests.support.services import ServiceClient, read_topic

pytestmark = pytest.mark.integration

IDENTIFYING_KEYS = {"full_name", "name", "citizen_id", "date_of_birth", "village", "address"}
TWELVE_DIGITS = re.compile(r"(?<![0-9a-f-])\d{12}(?![0-9a-f-])")


async def test_no_event_on_the_topic_carries_a_name_or_citizen_id(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    body = person(full_name="Triệu Văn Riêng", citizen_id="024077000777", village="Thôn Bí Mật")
    pid = (await registry.http.post("/api/v1/persons", json=body, headers=officer)).json()["person_id"]
    await registry.http.post(
        f"/api/v1/persons/{pid}/residence-changes",
        json={"commune_code": AN_BA, "village": "Bản Kín", "moved_on": "2024-06-01"},
        headers=officer,
    )

    report = await upload(registry, csv_file(), "privacy.csv", registry.auth("district_officer", SON_DONG))
    expected = 2 + report["created"]  # this module's topics hold only its own events

    async def has_mine() -> bool:
        records = await read_topic(registry.settings, "rehab.registry.events")
        return len(records) >= expected and any(k == pid.encode() for k, _ in records)

    await wait_for(has_mine, 30)
    records = await read_topic(registry.settings, "rehab.registry.events")
    secrets = ["triệu văn riêng", "trieu van rieng", "024077000777", "1990-04-12", "thôn bí mật", "bản kín"]
    secrets += [row.split(",")[1].lower() for row in csv_file().decode("utf-8-sig").splitlines()[1:] if row]
    assert len(records) >= expected
    for _, value in records:
        payload = value["payload"]
        assert not IDENTIFYING_KEYS & set(payload), value
        assert set(value) <= {
            "event_id",
            "event_type",
            "schema_version",
            "stream_id",
            "stream_version",
            "occurred_on",
            "recorded_at",
            "actor",
            "unit_code",
            "correlation_id",
            "causation_id",
            "payload",
        }
        flat = json.dumps(value, ensure_ascii=False).lower()
        assert not TWELVE_DIGITS.search(json.dumps(payload)), value
        assert not [s for s in secrets if s and s in flat], value


async def test_names_and_citizen_ids_are_not_readable_in_the_database(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    body = person(full_name="Quách Văn Kín", citizen_id="024066000666")
    assert (await registry.http.post("/api/v1/persons", json=body, headers=officer)).status_code == 201
    engine = registry.app.state.runtime.engine
    async with engine.connect() as conn:
        dump = await conn.scalar(
            text(
                "SELECT string_agg(t::text, ' ') FROM (SELECT i::text AS t FROM identities i"
                " UNION ALL SELECT e::text FROM events e UNION ALL SELECT convert_from(o.value, 'UTF8') FROM outbox o"
                " UNION ALL SELECT a::text FROM audit_log a) x"
            )
        )
    assert "Quách" not in dump and "Quach" not in dump and "024066000666" not in dump
