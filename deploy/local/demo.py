"""Loads a demo data set through the public APIs: a few hundred people in the Sơn Động communes with real lives.

Run by `make up` (idempotent: it does nothing when the district already has people on record). Deterministic:
the same seed gives the same people, cases and dates, so the printed reports are the same on every machine.
"""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import date, timedelta
from typing import Any

import httpx

from shared.base.settings import PlatformSettings
from shared.runtime.auth import TokenCodec
from shared.vn.units import REFORM_DATE, admin_units

SON_DONG = sorted(unit.code for unit in admin_units().children("220"))  # the 17 communes of Huyện Sơn Động
FAMILY = ["Nguyễn", "Trần", "Hoàng", "Vi", "Nông", "La", "Hà", "Lương", "Chu", "Đặng", "Ninh", "Dương", "Lăng"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hùng", "Long", "Nam", "Phúc", "Quân", "Sơn", "Tùng", "Việt", "Khánh", "Lâm"]
PEOPLE = 300
URL = {"registry": "http://127.0.0.1:8001", "cases": "http://127.0.0.1:8002"}


class Demo:
    def __init__(self, seed: int = 2024) -> None:
        settings = PlatformSettings()
        self.codec = TokenCodec(settings.jwt_secret.get_secret_value(), settings.jwt_algorithm)
        self.rng = random.Random(seed)
        self.http = httpx.AsyncClient(timeout=60)
        self.done = 0
        self.counts: dict[str, int] = {}

    def auth(self, role: str, unit: str) -> dict[str, str]:
        # one account per unit, as in life: one account entering 180 citizen ids would pass the lookup limit
        return {"Authorization": f"Bearer {self.codec.issue(f'demo.{role}.{unit}', role, unit)}"}

    async def post(self, service: str, path: str, body: dict[str, Any], role: str, unit: str) -> httpx.Response:
        return await self.http.post(URL[service] + path, json=body, headers=self.auth(role, unit))

    def plan(self, n: int) -> dict[str, Any]:
        """Decide one person's life up front (so the random sequence does not depend on timing)."""
        r = self.rng
        male = r.random() < 0.9
        recorded = date(2023, 1, 5) + timedelta(days=r.randint(0, 540))
        roll = r.random()
        # about 60 methadone patients (the plan keeps 51) and a handful of rehab places a year, as in the plan
        life = (
            "methadone"
            if roll < 0.2
            else "compulsory"
            if roll < 0.25
            else "voluntary_community"
            if roll < 0.31
            else "voluntary_facility"
            if roll < 0.33
            else "none"
        )
        return {
            "person": {
                "full_name": f"{r.choice(FAMILY)} {'Văn' if male else 'Thị'} {r.choice(GIVEN)}",
                "date_of_birth": date(r.randint(1965, 2005), r.randint(1, 12), r.randint(1, 28)).isoformat(),
                "sex": "male" if male else "female",
                "commune_code": r.choice(SON_DONG),
                "village": f"Thôn {r.randint(1, 12)}",
                "status": "user",
                "recorded_on": recorded.isoformat(),
                "citizen_id": f"0240{r.randint(60, 99)}{n:06d}" if r.random() < 0.6 else None,
            },
            "addict": life != "none" or r.random() < 0.5,
            "determined_on": recorded + timedelta(days=r.randint(3, 20)),
            "life": life,
            "start_after": r.randint(10, 90),
            "outcome": r.random(),
            "covered": r.random() < 0.75,
        }

    async def live(self, plan: dict[str, Any]) -> None:
        body = {k: v for k, v in plan["person"].items() if v is not None}
        commune = body["commune_code"]
        answer = await self.post("registry", "/api/v1/persons", body, "commune_police", commune)
        if answer.status_code != 201:
            return self._count(f"registration refused ({answer.status_code})")
        person_id = answer.json()["person_id"]
        self._count("people on record")
        if plan["addict"]:
            await self.post(
                "registry",
                f"/api/v1/persons/{person_id}/addiction-determinations",
                {
                    "result": "addicted",
                    "determined_on": plan["determined_on"].isoformat(),
                    "facility": "Trung tâm Y tế huyện Sơn Động",
                    "form_number": f"PKQ-{person_id[-5:]}",
                },
                "health_facility",
                "220",
            )
        if plan["life"] != "none":
            await self.treatment(plan, person_id, commune)
        self.done += 1
        if sys.stderr.isatty() or self.done % 50 == 0:
            end = "" if sys.stderr.isatty() else "\n"
            bar = f"  demo data [{'#' * (30 * self.done // PEOPLE):<30}] {self.done}/{PEOPLE} people"
            print(f"\r{bar}" if end == "" else bar, end=end, file=sys.stderr, flush=True)

    @staticmethod
    def official(who: tuple[str, str], on: date, commune: str, recorded: date) -> tuple[str, str]:
        """The account that records a fact dated `on`: Huyện Sơn Động's and its old communes' until 2025-07-01,
        then today's unit responsible for the person (the successor commune; the province's health facilities)."""
        if on < REFORM_DATE:
            return who
        now = admin_units().unit_now(commune, recorded)
        role, _ = who
        if role == "health_facility":
            return role, admin_units().get(now, edition="2025").parent or now
        return ("commune_officer" if role == "district_officer" else role), now

    async def treatment(self, plan: dict[str, Any], person_id: str, commune: str) -> None:
        modality, start = plan["life"], plan["determined_on"] + timedelta(days=plan["start_after"])
        months = {"compulsory": 12, "voluntary_community": 6, "voluntary_facility": 6}.get(modality)
        recorded = date.fromisoformat(plan["person"]["recorded_on"])

        def by(who: tuple[str, str], on: date) -> tuple[str, str]:
            return self.official(who, on, commune, recorded)

        role = ("health_facility", "220") if modality == "methadone" else ("district_officer", "220")
        body = {
            "person_id": person_id,
            "modality": modality,
            "decision_number": f"QĐ-{person_id[-4:]}",
            "decided_on": start.isoformat(),
            "started_on": start.isoformat(),
            "planned_months": months,
            "facility": "Cơ sở cai nghiện ma túy tỉnh Bắc Giang" if modality == "compulsory" else None,
            "court_decision_number": f"{person_id[-3:]}/QĐ-TA" if modality == "compulsory" else None,
        }
        for _ in range(100):  # the cases service learns of the person from the registry's events
            answer = await self.post("cases", "/api/v1/cases", body, *by(role, start))
            if answer.status_code not in (409, 422) or answer.json()["error"]["code"] not in (
                "unknown_person",
                "not_determined_addicted",
            ):
                break
            await asyncio.sleep(0.2)
        if answer.status_code != 201:
            return self._count(f"enrolment refused ({answer.json()['error']['code']})")
        self._count(f"enrolled: {modality}")
        case = answer.json()["case_id"]
        outcome = plan["outcome"]
        if modality in ("compulsory", "voluntary_facility") and outcome < 0.15:
            await self.step(
                case,
                "abscondment",
                {"absconded_on": (start + timedelta(days=40)).isoformat()},
                by(("commune_police", commune), start + timedelta(days=40)),
            )
            return self._count("absconded, at large")
        if modality != "compulsory" and outcome < 0.25:
            await self.step(
                case,
                "dropout",
                {"dropped_on": (start + timedelta(days=60)).isoformat(), "reason": "tự ý bỏ"},
                by(role, start + timedelta(days=60)),
            )
            return self._count("dropped out")
        if modality == "methadone" and outcome < 0.8:
            return self._count("in methadone treatment")
        finished = start + timedelta(days=(months or 8) * 31 + 5)
        if finished > date(2026, 10, 1):
            return self._count("in treatment")
        await self.step(
            case,
            "completion",
            {"completed_on": finished.isoformat(), "certificate_number": f"GCN-{case[-5:]}"},
            by(role, finished),
        )
        if not plan["covered"]:
            return self._count("completed, awaiting a post-rehab decision")
        decided = finished + timedelta(days=self.rng.randint(1, 12))
        await self.step(
            case,
            "post-rehab",
            {
                "decision_number": f"QĐ-QLSC-{case[-4:]}",
                "decided_on": decided.isoformat(),
                "starts_on": decided.isoformat(),
                "mentor": "Hội Cựu chiến binh xã",
            },
            by(("commune_officer", commune), decided),
        )
        self._count("completed, under post-rehab management")

    async def step(self, case: str, path: str, body: dict[str, Any], who: tuple[str, str]) -> None:
        answer = await self.post("cases", f"/api/v1/cases/{case}/{path}", body, *who)
        if answer.status_code != 200:
            self._count(f"{path} refused ({answer.json()['error']['code']})")

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


async def main() -> int:
    demo = Demo()
    try:
        existing = await demo.http.get(
            URL["registry"] + "/api/v1/persons", params={"page_size": 1}, headers=demo.auth("district_officer", "220")
        )
        if existing.status_code == 200 and existing.json()["total"] > 0:
            print("  demo data already loaded (people on record in Sơn Động)")
            return 0
        plans = [demo.plan(n) for n in range(PEOPLE)]
        gate = asyncio.Semaphore(6)

        async def one(p: dict[str, Any]) -> None:
            async with gate:
                await demo.live(p)

        await asyncio.gather(*(one(p) for p in plans))
        if sys.stderr.isatty():
            print(file=sys.stderr)
        for what, count in sorted(demo.counts.items()):
            print(f"  {what:<44} {count:>4}")
        return 0
    except httpx.TransportError as exc:
        print(f"demo: a service is not reachable: {exc}", file=sys.stderr)
        return 1
    finally:
        await demo.http.aclose()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
