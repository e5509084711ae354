"""Registry and cases services in-process on fresh schemas, against the real PostgreSQL and Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from services.cases.app import spec as cases_spec
from services.cases.tables import directory
from services.registry.app import spec as registry_spec
from tests.support.polling import wait_until
from tests.support.services import ServiceClient, fresh_schema, isolated_topics, running_service

TAY_YEN_TU, AN_BA, SON_DONG = "07616", "07660", "220"
DISTRICT = ("district_officer", SON_DONG)


@dataclass
class Pair:
    registry: ServiceClient
    cases: ServiceClient

    async def addict(self, commune: str = TAY_YEN_TU, born: str = "1990-04-12", determined: bool = True) -> str:
        """A person on record, determined addicted, and known to the cases service's directory."""
        officer = self.registry.auth("commune_officer", commune)
        body = {
            "full_name": "Hà Văn Thử",
            "date_of_birth": born,
            "sex": "male",
            "commune_code": commune,
            "status": "user",
            "recorded_on": "2024-01-02",
        }
        person_id = str(
            (await self.registry.http.post("/api/v1/persons", json=body, headers=officer)).json()["person_id"]
        )
        if determined:
            await self.registry.http.post(
                f"/api/v1/persons/{person_id}/addiction-determinations",
                json={"result": "addicted", "determined_on": "2024-01-05", "facility": "TTYT", "form_number": "1"},
                headers=self.registry.auth("health_facility", SON_DONG),
            )
        await self.known(person_id, "addict" if determined else "user")
        return person_id

    async def known(self, person_id: str, status: str, commune: str | None = None, timeout: float = 30) -> None:
        engine = self.cases.app.state.runtime.engine

        async def listed() -> tuple[str, str] | None:
            async with engine.connect() as conn:
                row = (await conn.execute(select(directory).where(directory.c.person_id == person_id))).first()
            return None if row is None else (row.status, row.commune_code)

        def reached(got: tuple[str, str] | None) -> bool:
            return got is not None and got[0] == status and commune in (None, got[1])

        await wait_until(listed, reached, timeout, 0.1, f"person {person_id} in the cases directory as {status}")

    async def enrol(self, person_id: str, **overrides: Any) -> Any:
        body = {
            "person_id": person_id,
            "modality": "compulsory",
            "decision_number": "QD-12/2024",
            "decided_on": "2024-01-10",
            "started_on": "2024-01-15",
            "planned_months": 12,
            "facility": "Cơ sở cai nghiện ma túy tỉnh Bắc Giang",
            "court_decision_number": "05/2024/QĐ-TA",
        }
        body.update(overrides)
        return await self.cases.http.post("/api/v1/cases", json=body, headers=self.cases.auth(*DISTRICT))


@pytest.fixture(scope="module")
async def pair() -> AsyncIterator[Pair]:
    async with (
        isolated_topics("cas") as prefix,
        fresh_schema("reg") as registry_schema,
        fresh_schema("cas") as cases_schema,
        running_service(registry_spec, "registry", registry_schema, prefix) as registry,
        running_service(cases_spec, "cases", cases_schema, prefix) as cases,
    ):
        yield Pair(registry, cases)
