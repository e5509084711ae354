"""Loads a demo data set through the public APIs: a few hundred people in the Sơn Động communes with real lives.

Lives cross the 2025-07-01 reorganisation and the 2026-07-01 law: people registered in the 17 communes of Huyện
Sơn Động (220) before it are worked on after it by the communes that took them over (Xã Sơn Động 07615 and its
neighbours, Tỉnh Bắc Ninh 24), others are registered in those new communes, courses begun from 2026-07-01 last
24 months (Law 120/2025), and Tỉnh Bắc Ninh issues a 2026 plan straight to its communes.

Run by `make up` (idempotent: it does nothing when the district already has people on record). Deterministic:
the same seed gives the same people, cases and dates, so the printed reports are the same on every machine.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from datetime import date, timedelta
from typing import Any

import httpx

from shared.base.settings import PlatformSettings
from shared.runtime.auth import TokenCodec
from shared.vn.units import admin_units

UNITS = admin_units()
SON_DONG = sorted(unit.code for unit in UNITS.children("220"))  # the 17 communes of Huyện Sơn Động (to 2025-06-30)
SON_DONG_NOW = sorted(unit.code for unit in UNITS.successor_units("220"))  # the communes that took them over
REFORM, LAW_2025 = date(2025, 7, 1), date(2026, 7, 1)
FAMILY = ["Nguyễn", "Trần", "Hoàng", "Vi", "Nông", "La", "Hà", "Lương", "Chu", "Đặng", "Ninh", "Dương", "Lăng"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hùng", "Long", "Nam", "Phúc", "Quân", "Sơn", "Tùng", "Việt", "Khánh", "Lâm"]
PEOPLE = 300
PEOPLE_AFTER = 80  # registered in today's communes after the reform
# the services of `make up`; REHAB_DEMO_<SERVICE>_URL points the demo at others (the web app's benchmark)
URL = {
    s: os.environ.get(f"REHAB_DEMO_{s.upper()}_URL", f"http://127.0.0.1:{port}")
    for s, port in (("registry", 8001), ("cases", 8002), ("quotas", 8003))
}


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
        after = n >= PEOPLE
        recorded = (
            date(2025, 7, 10) + timedelta(days=r.randint(0, 400))
            if after
            else date(2023, 1, 5) + timedelta(days=r.randint(0, 540))
        )
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
                "commune_code": r.choice(SON_DONG_NOW if after else SON_DONG),
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
            total = PEOPLE + PEOPLE_AFTER
            bar = f"  demo data [{'#' * (30 * self.done // total):<30}] {self.done}/{total} people"
            print(f"\r{bar}" if end == "" else bar, end=end, file=sys.stderr, flush=True)

    def officer(self, commune: str, recorded: date, on: date, health: bool = False) -> tuple[str, str]:
        """Who records a step dated `on` for a person of `commune` (as recorded on `recorded`): the district (or
        its health centre) before the reform; after it, the commune that took the person over (or the province's)."""
        if on < REFORM:
            return ("health_facility", "220") if health else ("district_officer", "220")
        return ("health_facility", "24") if health else ("commune_officer", UNITS.unit_now(commune, recorded))

    def commune_at(self, commune: str, recorded: date, on: date) -> str:
        return commune if on < REFORM else UNITS.unit_now(commune, recorded)

    async def treatment(self, plan: dict[str, Any], person_id: str, commune: str) -> None:
        modality, start = plan["life"], plan["determined_on"] + timedelta(days=plan["start_after"])
        months = {"compulsory": 12, "voluntary_community": 6, "voluntary_facility": 6}.get(modality)
        if months and start >= LAW_2025:
            months = 24  # a first course under Law 120/2025 (unverified: GET /api/v1/rules)
        recorded = date.fromisoformat(plan["person"]["recorded_on"])

        def role(on: date) -> tuple[str, str]:
            return self.officer(commune, recorded, on, health=modality == "methadone")

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
            answer = await self.post("cases", "/api/v1/cases", body, *role(start))
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
                ("commune_police", self.commune_at(commune, recorded, start + timedelta(days=40))),
            )
            return self._count("absconded, at large")
        if modality != "compulsory" and outcome < 0.25:
            await self.step(
                case,
                "dropout",
                {"dropped_on": (start + timedelta(days=60)).isoformat(), "reason": "tự ý bỏ"},
                role(start + timedelta(days=60)),
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
            role(finished),
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
            ("commune_officer", self.commune_at(commune, recorded, decided)),
        )
        self._count("completed, under post-rehab management")

    async def step(self, case: str, path: str, body: dict[str, Any], who: tuple[str, str]) -> None:
        answer = await self.post("cases", f"/api/v1/cases/{case}/{path}", body, *who)
        if answer.status_code != 200:
            self._count(f"{path} refused ({answer.json()['error']['code']})")

    async def an_ba(self) -> None:
        """The life the reorganisation must not lose: registered in Xã An Bá (07660) on 2025-03-01, voluntary rehab
        completed on 2025-10-15 (recorded by Xã Sơn Động, which took An Bá over), no post-rehab decision yet."""
        body = {
            "full_name": "Vi Văn Thắng",
            "date_of_birth": "1992-04-17",
            "sex": "male",
            "commune_code": "07660",
            "village": "Thôn Nà Hin",
            "status": "user",
            "recorded_on": "2025-03-01",
        }
        answer = await self.post("registry", "/api/v1/persons", body, "commune_police", "07660")
        if answer.status_code != 201:
            return self._count(f"An Bá story: registration refused ({answer.status_code})")
        person = answer.json()["person_id"]
        determination = {
            "result": "addicted",
            "determined_on": "2025-03-10",
            "facility": "Trung tâm Y tế huyện Sơn Động",
            "form_number": "PKQ-AB-01",
        }
        await self.post(
            "registry", f"/api/v1/persons/{person}/addiction-determinations", determination, "health_facility", "220"
        )
        enrolment = {
            "person_id": person,
            "modality": "voluntary_community",
            "decision_number": "QĐ-AB-01",
            "decided_on": "2025-04-01",
            "started_on": "2025-04-01",
            "planned_months": 6,
        }
        for _ in range(100):
            answer = await self.post("cases", "/api/v1/cases", enrolment, "district_officer", "220")
            if answer.status_code == 201:
                break
            await asyncio.sleep(0.2)
        if answer.status_code != 201:
            return self._count(f"An Bá story: enrolment refused ({answer.status_code})")
        completion = {"completed_on": "2025-10-15", "certificate_number": "GCN-AB-01"}
        await self.step(answer.json()["case_id"], "completion", completion, ("commune_officer", "07615"))
        self._count("An Bá story (07660 -> 07615): completed 2025-10-15, awaiting a decision")

    async def plan_2026(self) -> None:
        """Tỉnh Bắc Ninh's 2026 quotas, set straight to its communes (no districts): demo figures, not a real plan."""
        quotas = {c: {"voluntary_community": 3, "compulsory": 2} for c in SON_DONG_NOW}
        province = {
            "quotas": {"voluntary_community": 3 * len(quotas), "compulsory": 2 * len(quotas)},
            "document_number": "Kế hoạch minh hoạ 2026 của UBND tỉnh Bắc Ninh (dữ liệu demo)",
        }
        answer = await self.http.put(
            URL["quotas"] + "/api/v1/plans/2026/24", json=province, headers=self.auth("province_officer", "24")
        )
        if answer.status_code not in (200, 201):
            return self._count(f"2026 plan refused ({answer.status_code})")
        for commune, quota in quotas.items():
            body = {"quotas": quota, "document_number": "Kế hoạch minh hoạ 2026 của UBND tỉnh Bắc Ninh (dữ liệu demo)"}
            answer = await self.http.put(
                URL["quotas"] + f"/api/v1/plans/2026/{commune}", json=body, headers=self.auth("province_officer", "24")
            )
            if answer.status_code not in (200, 201):
                return self._count(f"2026 plan of {commune} refused ({answer.status_code})")
        self._count(f"2026 plan: Tỉnh Bắc Ninh and its {len(quotas)} Sơn Động communes")

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
        plans = [demo.plan(n) for n in range(PEOPLE + PEOPLE_AFTER)]
        gate = asyncio.Semaphore(6)

        async def one(p: dict[str, Any]) -> None:
            async with gate:
                await demo.live(p)

        await asyncio.gather(*(one(p) for p in plans))
        await demo.an_ba()
        await demo.plan_2026()
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
