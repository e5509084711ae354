"""The four services in-process, on fresh schemas and topics of their own, driven through their HTTP APIs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from services.cases.app import spec as cases_spec
from services.quotas.app import spec as quotas_spec
from services.registry.app import spec as registry_spec
from services.reporting.app import spec as reporting_spec
from shared.kernel.ids import uuid7
from tests.support.keycloak import issuer_settings
from tests.support.polling import wait_until
from tests.support.services import ServiceClient, fresh_schema, isolated_topics, running_service

DATA = Path(__file__).resolve().parents[3] / "shared" / "vn" / "data"


@dataclass
class System:
    registry: ServiceClient
    cases: ServiceClient
    quotas: ServiceClient
    reporting: ServiceClient

    async def applied(self, events: int) -> None:
        """Wait until reporting's live generation has applied at least `events` events of every topic together."""
        engine = self.reporting.app.state.runtime.engine

        async def count() -> int:
            async with engine.connect() as conn:
                generation = await conn.scalar(text("SELECT current FROM generation"))
                return int(await conn.scalar(text(f"SELECT coalesce(sum(events), 0) FROM g{generation}_topics")) or 0)

        await wait_until(count, lambda n: n >= events, timeout=60, interval=0.1, what=f"reporting applied {events}")

    async def person(
        self,
        commune: str,
        born: str,
        sex: str = "male",
        status: str = "addict",
        recorded_on: str = "2023-12-01",
        facility: str = "220",
    ) -> str:
        officer = self.registry.auth("commune_officer", commune)
        body = {
            "full_name": "Người " + uuid7().hex[-6:].translate(str.maketrans("0123456789", "ghijklmnop")),
            "date_of_birth": born,
            "sex": sex,
            "commune_code": commune,
            "status": "user",
            "recorded_on": recorded_on,
        }
        answer = await self.registry.http.post("/api/v1/persons", json=body, headers=officer)
        assert answer.status_code == 201, answer.text
        person_id = str(answer.json()["person_id"])
        if status == "addict":
            day = recorded_on[:8] + "05"
            determined = await self.registry.http.post(
                f"/api/v1/persons/{person_id}/addiction-determinations",
                json={"result": "addicted", "determined_on": day, "facility": "TTYT Sơn Động", "form_number": "P"},
                headers=self.registry.auth("health_facility", facility),
            )
            assert determined.status_code == 201, determined.text
        return person_id

    async def known_to_cases(self, person_id: str, status: str) -> None:
        from sqlalchemy import select

        from services.cases.tables import directory

        engine = self.cases.app.state.runtime.engine

        async def listed() -> str | None:
            async with engine.connect() as conn:
                query = select(directory.c.status).where(directory.c.person_id == person_id)
                return await conn.scalar(query)

        await wait_until(listed, lambda got: got == status, 30, 0.1, f"{person_id} in the cases directory as {status}")

    async def enrol(
        self,
        person_id: str,
        modality: str,
        started: str,
        months: int | None = None,
        decided: str | None = None,
        role: tuple[str, str] | None = None,
    ) -> str:
        role = role or (("health_facility", "220") if modality == "methadone" else ("district_officer", "220"))
        body: dict[str, Any] = {
            "person_id": person_id,
            "modality": modality,
            "decision_number": "QĐ",
            "decided_on": decided or started,
            "started_on": started,
            "planned_months": months,
        }
        if modality == "compulsory":
            body["court_decision_number"] = "TA"
        answer = await self.cases.http.post("/api/v1/cases", json=body, headers=self.cases.auth(*role))
        assert answer.status_code == 201, answer.text
        return str(answer.json()["case_id"])

    async def step(
        self, case_id: str, path: str, body: dict[str, Any], role: tuple[str, str] = ("district_officer", "220")
    ) -> None:
        answer = await self.cases.http.post(
            f"/api/v1/cases/{case_id}/{path}", json=body, headers=self.cases.auth(*role)
        )
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
async def system() -> AsyncIterator[System]:
    async with AsyncExitStack() as stack:
        prefix = await stack.enter_async_context(isolated_topics("rep"))
        clients = []
        for name, spec in (
            ("registry", registry_spec),
            ("cases", cases_spec),
            ("quotas", quotas_spec),
            ("reporting", reporting_spec),
        ):
            schema = await stack.enter_async_context(fresh_schema(name[:3]))
            # the services trust the realm as make up's do: the development secret's tokens and Keycloak's
            service = running_service(spec, name, schema, prefix, **issuer_settings())
            clients.append(await stack.enter_async_context(service))
        yield System(*clients)
