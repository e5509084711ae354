"""Nothing an import reads stays readable at rest, and its report answers no question about other areas.

Before: `imports.content` kept every uploaded list in clear, forever (names, dates of birth, citizen ids), and a
row whose citizen id was on record in another province was counted as a duplicate, which told a commune officer
that the id was on the registry.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.registry.app import spec
from services.registry.dedupe import ELSEWHERE
from services.registry.imports.rows import ON_RECORD_ELSEWHERE
from services.registry.tables import MIGRATIONS
from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.migrations import migrate
from shared.kernel.store_schema import KERNEL_MIGRATIONS
from shared.vn.units import fold
from tests.integration.registry.conftest import AN_BA, BAC_GIANG, SON_DONG, TAY_YEN_TU, THO_XUONG, person
from tests.integration.registry.test_imports import finished
from tests.support.services import ServiceClient, fresh_schema, isolated_topics, owner_dsn, running_service

pytestmark = pytest.mark.integration
HEADER = ["Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Mã xã", "Thôn/Tổ dân phố", "Tình trạng"]


def listing(*rows: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode()


async def upload(registry: ServiceClient, content: bytes, headers: dict[str, str]) -> dict[str, Any]:
    answer = await registry.http.post(
        "/api/v1/persons/imports",
        files={"file": ("ra-soat.csv", content, "text/csv")},
        data={"recorded_on": "2024-02-15"},
        headers=headers,
    )
    assert answer.status_code == 202, answer.text
    return await finished(registry, answer.json()["import_id"], headers)


async def dump(engine: AsyncEngine, schema: str) -> str:
    """Every row of every table of `schema` as JSON (bytea as hex), one line each."""
    async with engine.connect() as conn:
        tables = await conn.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"), {"s": schema}
        )
        lines = []
        for table in list(tables):
            lines += list(await conn.scalars(text(f'SELECT row_to_json(t)::text FROM "{schema}"."{table}" t')))
    return "\n".join(lines)


def readable(secrets: list[str], dumped: str) -> list[str]:
    """The secrets found in `dumped` as text, folded (no diacritics), or hex-encoded UTF-8 (a clear bytea)."""
    low = dumped.lower()
    forms = {s: {s.lower(), fold(s), s.encode().hex(), fold(s).encode().hex()} for s in secrets}
    return [s for s, variants in forms.items() if any(v in low for v in variants)]


async def test_no_name_or_citizen_id_is_readable_in_any_table_after_registration_import_and_determination(
    registry: ServiceClient,
) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    body = person(full_name="Triệu Văn Kín", citizen_id="024077000991", village="Thôn Ẩn Danh")
    pid = (await registry.http.post("/api/v1/persons", json=body, headers=officer)).json()["person_id"]
    determined = await registry.http.post(
        f"/api/v1/persons/{pid}/addiction-determinations",
        json={"result": "addicted", "determined_on": "2024-03-05", "facility": "Trạm y tế", "form_number": "07/XN"},
        headers=registry.auth("health_facility", SON_DONG),
    )
    assert determined.status_code == 201, determined.text
    rows = [
        ["Hứa Thị Lặng", "01/02/1991", "Nữ", "024191000992", AN_BA, "Bản Khuất", "Nghiện"],
        ["Mạc Văn Giấu", "31/02/1990", "Nam", "024090000993", AN_BA, "Bản Khuất", "Nghiện"],  # refused: no such day
    ]
    report = await upload(registry, listing(*rows), registry.auth("district_officer", SON_DONG))
    assert (report["created"], len(report["rejected"])) == (1, 1)
    digest = hashlib.sha256(listing(*rows)).hexdigest()  # a plain digest of the file would let a guess be checked

    secrets = ["Triệu Văn Kín", "024077000991", "Thôn Ẩn Danh", "Hứa Thị Lặng", "024191000992", "Bản Khuất"]
    secrets += ["Mạc Văn Giấu", "024090000993", "31/02/1990", "1991-02-01"]
    dumped = await dump(registry.app.state.runtime.engine, registry.settings.schema_name)
    assert pid in dumped and "ra-soat.csv" in dumped  # the dump holds the scenario's rows
    assert readable(secrets, dumped) == [] and digest not in dumped
    async with registry.app.state.runtime.engine.connect() as conn:
        kept = await conn.scalar(text("SELECT count(*) FROM imports WHERE sealed_rows IS NOT NULL"))
    assert kept == 0  # a finished import keeps nothing of its list, even sealed


async def test_a_citizen_id_on_record_outside_the_area_is_refused_without_saying_where_and_audited(
    registry: ServiceClient,
) -> None:
    province = registry.auth("province_officer", BAC_GIANG)
    elsewhere = person(full_name="Đoàn Văn Xa", citizen_id="024088000994", commune_code=THO_XUONG, village="Phố")
    far_id = (await registry.http.post("/api/v1/persons", json=elsewhere, headers=province)).json()["person_id"]
    district = registry.auth("district_officer", SON_DONG, sub="probing-officer")
    near = ["Đinh Văn Gần", "03/03/1993", "Nam", "024093000995", TAY_YEN_TU, "Thôn Mới", "Nghiện"]
    mover = ["Phùng Văn Chuyển", "04/04/1994", "Nam", "", TAY_YEN_TU, "Thôn Mới", "Nghiện"]
    first = await upload(registry, listing(near, mover), district)
    assert first["created"] == 2
    moved_id = (await registry.http.get("/api/v1/persons", params={"q": "phung van chuyen"}, headers=district)).json()
    moved = await registry.http.post(
        f"/api/v1/persons/{moved_id['items'][0]['person_id']}/residence-changes",
        json={"commune_code": THO_XUONG, "village": "Phố", "moved_on": "2024-03-01"},
        headers=province,
    )
    assert moved.status_code == 201, moved.text

    probe = ["Tên Khác", "05/05/1985", "Nam", "024088000994", TAY_YEN_TU, "Thôn Mới", "Nghiện"]
    report = await upload(registry, listing(near, probe, mover), district)

    assert (report["created"], report["duplicates"]) == (0, 1)  # only `near` is on record inside the area
    assert report["rejected"] == [
        {"row": 3, "errors": {"citizen_id": ON_RECORD_ELSEWHERE}},
        {"row": 4, "errors": {"row": ON_RECORD_ELSEWHERE}},
    ]
    said = str(report)  # as whole codes: the report's times carry digits ("...T22:21:10.213939+00:00")
    assert far_id not in said and not re.search(rf"\b({THO_XUONG}|213)\b", said)
    audit = await registry.http.get(
        "/api/v1/audit", params={"person_id": far_id}, headers=registry.auth("auditor", BAC_GIANG)
    )
    probes = [e for e in audit.json()["items"] if e["detail"].get("import_id") == report["import_id"]]
    assert [(e["action"], e["sub"], e["unit"], e["unit_code"], e["detail"]["row"]) for e in probes] == [
        (ELSEWHERE, "probing-officer", SON_DONG, THO_XUONG, 3)
    ]
    seen = await registry.http.get("/api/v1/registration-attempts", headers=province)  # the province sees both
    assert [(a["attempted_by"]["sub"], a["attempted_commune"]) for a in seen.json()["items"]] == [
        ("probing-officer", TAY_YEN_TU)
    ] * 2


async def test_clear_copies_left_by_the_old_schema_are_sealed_or_dropped_when_the_service_starts() -> None:
    listed = listing(["Lương Thị Cũ", "06/06/1996", "Nữ", "024196000996", TAY_YEN_TU, "Thôn Mới", "Nghiện"])
    finished_list = listing(["Âu Văn Xong", "07/07/1977", "Nam", "024077000997", TAY_YEN_TU, "Thôn Mới", "Nghiện"])
    actor = {"sub": "old-officer", "role": "district_officer", "unit": SON_DONG}
    async with isolated_topics("regold") as prefix, fresh_schema("regold") as schema:
        engine = make_engine(owner_dsn(ServiceSettings()), schema, 1)
        await migrate(engine, schema, [*KERNEL_MIGRATIONS, *MIGRATIONS], ["kernel@head", "registry_0001"])  # as before
        async with engine.begin() as conn:
            for status, content in (("queued", listed), ("done", finished_list)):
                await conn.execute(
                    text(
                        "INSERT INTO imports (import_id, file_sha256, filename, content, actor, correlation_id,"
                        " source, recorded_on, status, total) VALUES (gen_random_uuid(), 'x', 'old.csv', :c,"
                        " CAST(:a AS JSONB), 'old', 'police_review', '2024-02-15', :s, 1)"
                    ),
                    {"c": content, "a": json.dumps(actor), "s": status},
                )
            before = await conn.scalar(text("SELECT pg_relation_filenode('imports')"))
        async with running_service(spec, "registry", schema, prefix) as registry:
            headers = registry.auth("district_officer", SON_DONG)
            async with engine.connect() as conn:
                queued = await conn.scalar(text("SELECT import_id FROM imports WHERE status <> 'done'"))
            report = await finished(registry, str(queued), headers)
            found = (await registry.http.get("/api/v1/persons", params={"q": "luong thi cu"}, headers=headers)).json()
        async with engine.connect() as conn:
            left = (await conn.execute(text("SELECT count(legacy_content), count(sealed_rows) FROM imports"))).one()
            after = await conn.scalar(text("SELECT pg_relation_filenode('imports')"))
        dumped = await dump(engine, schema)
        await engine.dispose()
    assert (report["status"], report["created"]) == ("done", 1)  # the interrupted import resumed from sealed rows
    assert found["items"][0]["citizen_id"] == "024196000996"
    assert tuple(left) == (0, 0) and after != before  # rewritten: no dead row versions keep the clear copies
    assert readable(["Lương Thị Cũ", "024196000996", "Âu Văn Xong", "024077000997"], dumped) == []
