"""Issue 14, finding 6: whatever is typed into free text, no citizen id and no name reaches Kafka.

Registry, cases and quotas run on topics of their own. A citizen id and a person's full name are typed into every
free-text field and every reference of their API bodies. A refusal (422) is the proof for that field; where the
text is accepted (a facility, a reason, a mentor "Nguyễn Văn Bình") it must stay in the service's database. Then
every record of every topic, dead-letter topics included, is read from offset 0: no key, value or header holds a
run of 12 digits or one of the names, and the cases and registry APIs still show the text they keep.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from services.cases.app import spec as cases_spec
from services.cases.tables import directory
from services.quotas.app import spec as quotas_spec
from services.registry.app import spec as registry_spec
from services.topology import ALL_TOPICS
from shared.kernel.kafka import dlq_topic, make_consumer, partitions_of
from shared.kernel.store_schema import events
from tests.support.polling import wait_for
from tests.support.services import ServiceClient, fresh_schema, isolated_topics, running_service

pytestmark = pytest.mark.integration
CITIZEN_ID, PERSON = "024190000777", "Hoàng Thị Lan"  # the person on record
MENTOR = "Nguyễn Văn Bình"  # a named person, who is on no list
NEVER = [CITIZEN_ID, "024 190 000 777", "０２４１９００００７７７", "Q\u202e1", "Q\u200b1"]  # refused in any field
NAMES = [PERSON, MENTOR]  # refused where the field is published (a reference), kept where it is free text
COMMUNE, DISTRICT = "07616", ("district_officer", "220")
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Trio:
    registry: ServiceClient
    cases: ServiceClient
    quotas: ServiceClient


@pytest.fixture(scope="module")
async def trio() -> AsyncIterator[Trio]:
    async with AsyncExitStack() as stack:
        prefix = await stack.enter_async_context(isolated_topics("txt"))
        clients = []
        for name, spec in (("registry", registry_spec), ("cases", cases_spec), ("quotas", quotas_spec)):
            schema = await stack.enter_async_context(fresh_schema(f"tx{name[:2]}"))
            clients.append(await stack.enter_async_context(running_service(spec, name, schema, prefix)))
        yield Trio(*clients)


async def post(client: ServiceClient, path: str, body: dict[str, Any], who: tuple[str, str], status: int) -> Any:
    answer = await client.http.post(path, json=body, headers=client.auth(*who))
    assert answer.status_code == status, (path, body, answer.text)
    return answer.json()


async def typed_into(
    client: ServiceClient,
    path: str,
    body: dict[str, Any],
    who: tuple[str, str],
    free: dict[str, str],
    status: int,
    identity: frozenset[str] = frozenset(),
) -> Any:
    """Hostile text into each text field of `body`: refused (422 naming the field); then sent with `free`'s texts.

    `identity` fields (a person's name and citizen id, which only the registry's vault holds) are left as they are.
    """
    for field in body.keys() - identity:
        if not isinstance(body[field], str) or field.endswith("_on") or field in ("person_id", "modality"):
            continue
        for text in NEVER + ([] if field in free else NAMES):
            answer = await client.http.post(path, json={**body, field: text}, headers=client.auth(*who))
            assert answer.status_code == 422, (path, field, text, answer.text)
            assert field in answer.json()["error"]["fields"], answer.text
    return await post(client, path, {**body, **free}, who, status)


async def test_typed_names_and_citizen_ids_never_reach_kafka(trio: Trio) -> None:
    registry, cases, quotas = trio.registry, trio.cases, trio.quotas
    officer = ("commune_officer", COMMUNE)
    new = {"full_name": PERSON, "date_of_birth": "1990-04-12", "sex": "female", "commune_code": COMMUNE}
    new |= {"status": "user", "recorded_on": "2024-01-02", "citizen_id": CITIZEN_ID, "village": "Thôn"}
    identity = frozenset({"full_name", "citizen_id"})
    answer = await typed_into(registry, "/api/v1/persons", new, officer, {"village": PERSON}, 201, identity)
    person_id = answer["person_id"]
    determination = {"result": "addicted", "determined_on": "2024-01-05", "facility": "TTYT", "form_number": "PKQ-17"}
    await typed_into(
        registry,
        f"/api/v1/persons/{person_id}/addiction-determinations",
        determination,
        ("health_facility", "220"),
        {"facility": PERSON},
        201,
    )
    await wait_for(lambda: _known_to_cases(cases, person_id), 30)

    enrolment = {"person_id": person_id, "modality": "compulsory", "decision_number": "12/QĐ-UBND"}
    enrolment |= {"decided_on": "2024-01-10", "started_on": "2024-01-15", "planned_months": 12}
    enrolment |= {"court_decision_number": "45/2024/QĐ-TA", "facility": "CS"}
    case_a = (await typed_into(cases, "/api/v1/cases", enrolment, DISTRICT, {"facility": PERSON}, 201))["case_id"]
    steps: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        ("completion", {"completed_on": "2025-01-20", "certificate_number": "GCN-1"}, {}),
        (
            "post-rehab",
            {"decision_number": "QĐ-QLSC-3", "decided_on": "2025-01-22", "starts_on": "2025-01-22", "mentor": "M"},
            {"mentor": MENTOR},
        ),
        ("drug-tests", {"tested_on": "2025-02-01", "result": "positive", "facility": "TYT"}, {"facility": PERSON}),
        ("relapse-ruled-out", {"decided_on": "2025-02-05", "reason": "x"}, {"reason": PERSON}),
        ("post-rehab/end", {"ended_on": "2025-03-01", "certificate_number": "GCN-2"}, {}),
    ]
    for path, body, free in steps:
        await typed_into(cases, f"/api/v1/cases/{case_a}/{path}", body, DISTRICT, free, 200)
    closed: dict[str, str] = {}
    for started, close, field, on in (
        ("2025-03-10", "dropout", "dropped_on", "2025-04-01"),
        ("2025-04-10", "termination", "terminated_on", "2025-05-01"),
    ):
        body = {**enrolment, "modality": "voluntary_community", "decided_on": started, "started_on": started}
        body |= {"planned_months": 6, "court_decision_number": None, "facility": None}
        case_id = (await post(cases, "/api/v1/cases", body, DISTRICT, 201))["case_id"]
        path = f"/api/v1/cases/{case_id}/{close}"
        await typed_into(cases, path, {field: on, "reason": "x"}, DISTRICT, {"reason": PERSON}, 200)
        closed[close] = case_id

    province = quotas.auth("province_officer", "24")
    for text in NEVER + NAMES:
        refused = await quotas.http.put(
            "/api/v1/plans/2024/220", json={"quotas": {"compulsory": 3}, "document_number": text}, headers=province
        )
        assert refused.status_code == 422 and "document_number" in refused.json()["error"]["fields"], refused.text
    plan = {"quotas": {"compulsory": 3}, "document_number": "KH/UBND 01/2024"}
    assert (await quotas.http.put("/api/v1/plans/2024/220", json=plan, headers=province)).status_code == 201

    # the text officials typed is still there for them, from each service's own database
    district = cases.auth(*DISTRICT)
    a = (await cases.http.get(f"/api/v1/cases/{case_a}", headers=district)).json()
    assert (a["mentor"], a["facility"], a["state"]) == (MENTOR, PERSON, "post_rehab_ended")
    assert a["drug_tests"][0]["facility"] == PERSON
    for close in ("dropout", "termination"):
        got = (await cases.http.get(f"/api/v1/cases/{closed[close]}", headers=district)).json()
        assert got["close_reason"] == PERSON, got
    file = (await registry.http.get(f"/api/v1/persons/{person_id}", headers=registry.auth(*officer))).json()
    assert file["determinations"][0]["facility"] == PERSON and file["village"] == PERSON

    records = await _every_record(trio)
    kinds = {(r["value"]["event_type"], r["value"]["schema_version"]) for r in records if "value" in r}
    assert {("post_rehab_started", 2), ("case_dropped_out", 2), ("case_terminated", 2)} <= kinds
    assert {("case_enrolled", 3), ("addiction_determined", 2), ("plan_issued", 1)} <= kinds
    assert {("drug_test_recorded", 1), ("relapse_ruled_out", 1)} <= kinds
    post_rehab = next(r["value"] for r in records if r.get("value", {}).get("event_type") == "post_rehab_started")
    assert post_rehab["payload"]["mentor_named"] is True and "mentor" not in post_rehab["payload"]
    for record in records:
        raw = record["raw"]
        for name in NAMES:
            assert name.encode() not in raw and name.encode("unicode_escape") not in raw, record
        assert not re.search(r"\d{12}", UUID_TEXT.sub("", raw.decode(errors="replace"))), record


async def _known_to_cases(cases: ServiceClient, person_id: str) -> bool:
    async with cases.app.state.runtime.engine.connect() as conn:
        status = await conn.scalar(select(directory.c.status).where(directory.c.person_id == person_id))
    return bool(status == "addict")


async def _every_record(trio: Trio) -> list[dict[str, Any]]:
    """Every record of every topic (and dead-letter topic) once the relays have published every stored event."""
    settings = trio.registry.settings
    stored = 0
    for client in (trio.registry, trio.cases, trio.quotas):
        async with client.app.state.runtime.engine.connect() as conn:
            stored += int(await conn.scalar(select(func.count()).select_from(events)) or 0)
    topics = [settings.topic(t) for topic in ALL_TOPICS for t in (topic, dlq_topic(topic))]
    found: list[dict[str, Any]] = []

    async def published() -> bool:
        found[:] = [r for topic in topics for r in await _records(settings, topic)]
        return sum(1 for r in found if not r["topic"].endswith(".dlq")) >= stored

    await wait_for(published, 60)
    return found


async def _records(settings: Any, topic: str) -> list[dict[str, Any]]:
    consumer = make_consumer(settings, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(settings, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        out: list[dict[str, Any]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for messages in (await consumer.getmany(*partitions, timeout_ms=1000)).values():
                for m in messages:
                    raw = b"\x00".join([m.key or b"", m.value or b"", *(k.encode() + v for k, v in m.headers)])
                    record: dict[str, Any] = {"topic": topic, "raw": raw}
                    if m.value and not topic.endswith(".dlq"):
                        record["value"] = json.loads(m.value)
                    out.append(record)
        return out
    finally:
        await consumer.stop()
