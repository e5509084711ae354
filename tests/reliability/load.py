"""A steady load of commands through the public APIs, and the ledger that checks every projection against it.

Registrars put people on record (each with a citizen id); case workers enrol each one in voluntary community
rehab, record the completion and place them under post-rehab management; a planner revises commune quotas.
Every command is driven to a definite answer the way a partner system would:
no answer or a 503 means "try again"; a 409 after an unanswered attempt is checked against what the system
holds (the earlier attempt did land). Anything else, and above all any 500, fails the test.

The ledger then knows, per stream, how many events the acknowledged commands imply, and compares that with
the service's event store, the reporting facts and the reports themselves.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.harness import System
from tests.support.api import Api, error_of

COMMUNES = ("07616", "07636", "07648", "07660")  # Sơn Động (district 220), as in the seed plan
DISTRICT = ("district_officer", "220")
STATES = {"complete": "completed", "post_rehab": "post_rehab"}


FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Hữu", "Quang", "Ngọc", "Thanh", "Xuân", "Công")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Giang", "Hải", "Khánh", "Long", "Nam", "Phúc", "Sơn", "Tâm")


def name_of(n: int) -> str:
    """A plausible Vietnamese name for life `n` (names may not contain digits)."""
    return f"{FAMILY[n % 10]} {MIDDLE[n // 10 % 10]} {GIVEN[n // 100 % 12]}"


class LoadError(AssertionError):
    """A command got an answer no fault excuses."""


@dataclass
class Ledger:
    """What the load's clients were told: the acknowledged commands, per stream and per kind."""

    acked: Counter[str] = field(default_factory=Counter)
    per_stream: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    acked_at: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the fault did, for the table's footnotes
    quotas: dict[str, int] = field(default_factory=dict)  # commune -> the last quota acknowledged

    @property
    def commands(self) -> int:
        return sum(self.acked.values())

    def ack(self, kind: str, stream_id: str) -> None:
        self.acked[kind] += 1
        self.per_stream[stream_id] += 1
        self.acked_at.append(time.monotonic())

    def acked_between(self, start: float, end: float) -> int:
        return sum(1 for t in self.acked_at if start <= t <= end)


Resolve = Callable[[dict[str, Any]], Awaitable[str | None]]


class Load:
    """Registrars put people on record at a steady pace; case workers take each one through rehab.

    The two never wait for each other, so while Kafka is away (and the cases service cannot hear of new
    people) registrations, and the cases already open, keep going. `stop()` lets each client finish what
    it is doing; people registered but not yet enrolled simply stay registered. A planner meanwhile revises
    the communes' 2024 quotas, each time to a new number, through the quotas service.
    """

    def __init__(self, system: System, registrars: int = 2, case_workers: int = 3, pace: float = 0.1) -> None:
        self.system, self.registrars, self.case_workers, self.pace = system, registrars, case_workers, pace
        self.ledger = Ledger()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._registered: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self._next = 0
        self.api = Api(httpx.AsyncClient(timeout=httpx.Timeout(20, connect=5)))

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._registrar()) for _ in range(self.registrars)]
        self._tasks += [asyncio.create_task(self._case_worker()) for _ in range(self.case_workers)]
        self._tasks.append(asyncio.create_task(self._planner()))

    async def stop(self, timeout: float = 300) -> Ledger:
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.gather(*self._tasks), timeout)
        finally:
            await self.api.http.aclose()
        return self.ledger

    async def _registrar(self) -> None:
        while not self._stop.is_set():
            n, self._next = self._next, self._next + 1
            await self._registered.put((n, await self.register(n)))
            await asyncio.sleep(self.pace)  # the load's pace: a steady stream, not a flood

    async def _case_worker(self) -> None:
        while not self._stop.is_set():
            try:
                n, person_id = await asyncio.wait_for(self._registered.get(), 0.5)
            except TimeoutError:
                continue
            await self.treat(n, person_id)

    async def _planner(self) -> None:
        """PUT a commune's plan with a quota it never had before: `unchanged` can only mean an earlier
        attempt of this same command landed, so each acknowledged PUT is exactly one plan event."""
        revision = 0
        while not self._stop.is_set():
            commune = COMMUNES[revision % len(COMMUNES)]
            quota = 10 + revision
            await self.command(
                "plan",
                "PUT",
                f"{self.system['quotas'].url}/api/v1/plans/2024/{commune}",
                DISTRICT,
                {"quotas": {"voluntary_community": quota}, "document_number": f"KH-{revision}/UBND"},
                resolve=self._no_conflict,
            )
            self.ledger.ack("plan", f"plan-2024-{commune}")
            self.ledger.quotas[commune] = quota
            revision += 1
            await asyncio.sleep(self.pace * 5)  # plans change less often than people arrive

    async def _no_conflict(self, _: dict[str, Any]) -> str | None:
        return None

    async def register(self, n: int) -> str:
        commune = COMMUNES[n % len(COMMUNES)]
        person = await self.command(
            "register",
            "POST",
            f"{self.system['registry'].url}/api/v1/persons",
            ("commune_officer", commune),
            {
                "full_name": name_of(n),
                "date_of_birth": "1990-03-04",
                "sex": "male" if n % 3 else "female",
                "citizen_id": f"0{n:011d}",
                "commune_code": commune,
                "status": "addict",
                "recorded_on": "2023-11-01",
            },
            resolve=self._existing_person,
        )
        person_id = str(person["person_id"])
        self.ledger.ack("register", person_id)
        return person_id

    async def treat(self, n: int, person_id: str) -> None:
        """Enrolment, completion and post-rehab management of person `n`."""
        cases = self.system["cases"].url + "/api/v1"
        officer = ("commune_officer", COMMUNES[n % len(COMMUNES)])
        case = await self.command(
            "enrol",
            "POST",
            f"{cases}/cases",
            DISTRICT,
            {
                "person_id": person_id,
                "modality": "voluntary_community",
                "decision_number": f"QĐ-{n}",
                "decided_on": "2024-01-10",
                "started_on": "2024-01-15",
                "planned_months": 6,
            },
            resolve=self._existing_case,
        )
        case_id = str(case["case_id"])
        self.ledger.ack("enrol", case_id)
        await self.command(
            "complete",
            "POST",
            f"{cases}/cases/{case_id}/completion",
            DISTRICT,
            {"completed_on": "2024-07-20", "certificate_number": f"GCN-{n}"},
            resolve=self._case_in("complete", case_id),
        )
        self.ledger.ack("complete", case_id)
        await self.command(
            "post_rehab",
            "POST",
            f"{cases}/cases/{case_id}/post-rehab",
            officer,
            {
                "decision_number": f"QĐ-QL-{n}",
                "decided_on": "2024-07-25",
                "starts_on": "2024-07-25",
                "mentor": "Hội CCB",
            },
            resolve=self._case_in("post_rehab", case_id),
        )
        self.ledger.ack("post_rehab", case_id)

    async def command(
        self,
        kind: str,
        method: str,
        url: str,
        who: tuple[str, str],
        body: dict[str, Any],
        resolve: Resolve,
        deadline: float = 240,
    ) -> dict[str, Any]:
        """Send until a definite answer; returns the 2xx body (or the one `resolve` confirms after a 409)."""
        unanswered = False

        def noted(answer: str) -> None:
            nonlocal unanswered
            self.ledger.answers[answer] += 1
            unanswered = unanswered or answer == "no answer"

        try:
            answer = await self.api.send(
                method, url, who, sub=f"load-{who[0]}", json=body, patience=deadline, noted=noted
            )
        except httpx.TransportError as exc:
            raise LoadError(f"{kind} {method} {url}: no answer in {deadline:.0f}s") from exc
        if answer.status_code < 300:
            return dict(answer.json())
        if unanswered and answer.status_code == 409:
            found = await resolve(error_of(answer))
            if found is not None:
                self.ledger.answers[f"{kind}: confirmed after no answer"] += 1
                return {"person_id": found, "case_id": found}
        raise LoadError(f"{kind} {method} {url}: {answer.status_code} {answer.text[:500]}")

    async def _existing_person(self, error: dict[str, Any]) -> str | None:
        return str(error["person_id"]) if error.get("person_id") else None  # "already on record: <id>"

    async def _existing_case(self, error: dict[str, Any]) -> str | None:
        return str(error["case_id"]) if error.get("code") == "open_case_exists" else None

    def _case_in(self, kind: str, case_id: str) -> Resolve:
        async def resolve(_: dict[str, Any]) -> str | None:
            url = f"{self.system['cases'].url}/api/v1/cases/{case_id}"
            got = await self.api.send("GET", url, DISTRICT)
            return case_id if got.status_code == 200 and got.json()["state"] == STATES[kind] else None

        return resolve
