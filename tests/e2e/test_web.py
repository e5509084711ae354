"""The officials' web app in a real browser (Debian's Chromium through Selenium), signed in at the real Keycloak,
over the four services as real processes: an official's morning, from a new person on record to the report.

The story (issue 18): the commune officer of Xã Sơn Động registers a person and enrols them in methadone treatment
a second later (the cases service waits for its directory: read your own writes); the commune's health facility
records the addiction determination, is refused a completion dated before the start (the Vietnamese message next
to the field), then records the completion; the officer finds the person on the work list by name, records the
post-rehab decision from the list, sees the dashboard's coverage figure go up by one, and downloads the XLSX
report, read back here. An officer of another commune opens the person's address and gets the refusal page, with
nothing of the person on it. Every page is saved as a screenshot under the run's output folder.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from services.identity import Account, KeycloakAdmin, ensure_demo_accounts, new_password
from shared.kernel.clock import today
from shared.kernel.ids import uuid7
from tests.harness import ROOT, System
from tests.support.browser import by_id, chromium, chromium_available, fill, sign_in, sign_out, wait_for
from tests.support.keycloak import issuer_env, keycloak_up
from tests.support.web import running_web

pytestmark = pytest.mark.integration
OUTPUT = Path(os.environ.get("REHAB_TEST_OUTPUT", ROOT / ".local" / "test-output")) / "web"
RUN = time.strftime("%Y%m%d-%H%M%S")  # this run's folder of screenshots
WAIT_BOUND = 3.0  # seconds the cases service waits for a registry write a command names (Rehab-After)
# an officer of another commune, made for this run (two runs at once each have their own)
OTHER_COMMUNE = Account(f"test.{uuid7().hex[-6:]}.tayyentu", "commune_officer", "07616", "Cán bộ", "UBND xã Tây Yên Tử")


@pytest.fixture(scope="module")
def admin() -> Iterator[KeycloakAdmin]:
    assert keycloak_up(), "Keycloak's rehab realm does not answer on 127.0.0.1:8080: make platform starts it"
    assert chromium_available(), "Chromium and ChromeDriver are missing: deploy/local/chromium.sh installs them"
    with KeycloakAdmin() as client:
        yield client


@pytest.fixture(scope="module")
def accounts(admin: KeycloakAdmin) -> Iterator[dict[str, dict[str, str]]]:
    """The demo accounts (as make up prints them) and an officer of another commune, made for this test."""
    demo = {a["username"]: a for a in ensure_demo_accounts(admin, ROOT / ".local" / "demo-accounts.json")}
    password = new_password()
    user_id, _ = admin.ensure_user(OTHER_COMMUNE, password)
    demo[OTHER_COMMUNE.username] = {"username": OTHER_COMMUNE.username, "password": password}
    yield demo
    admin.delete_user(user_id)


@pytest.fixture(scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    """The four services on ports of their own, trusting the realm (and, in development, the dev secret)."""
    trust = issuer_env(REHAB_CASES_READ_YOUR_WRITES_SECONDS=str(WAIT_BOUND))
    async with System("wb", tmp_path_factory.mktemp("logs"), env=trust) as running:
        yield running


@pytest.fixture(scope="module")
async def web(admin: KeycloakAdmin, system: System) -> AsyncIterator[str]:
    """The web app on a port of its own, a client of the realm and of the four services."""
    async with running_web(admin, system) as base:
        yield base


class Shots:
    """Screenshots of each page, numbered in the order the story visits them."""

    def __init__(self, driver: WebDriver, story: str) -> None:
        self.driver, self.count = driver, 0
        self.folder = OUTPUT / RUN / story
        self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> None:
        self.count += 1
        self.driver.save_screenshot(str(self.folder / f"{self.count:02d}-{name}.png"))


def coverage_text(driver: WebDriver, base: str) -> str:
    driver.get(base + "/")
    return str(by_id(driver, "coverage-text").text)


def covered_count(text: str) -> int:
    return int(re.findall(r"\d+", text)[0])


async def test_an_officials_morning(web: str, accounts: dict[str, dict[str, str]]) -> None:
    officer, facility = accounts["xa.sondong.canbo"], accounts["coso.yte.sondong"]
    on = today()
    started = (on - timedelta(days=200)).isoformat()
    name = f"Nguyễn Văn Thử {uuid7().hex[-4:].upper()}".replace("0", "A").replace("1", "B")
    name = re.sub(r"[0-9]", "C", name)
    with chromium(OUTPUT / "downloads", OUTPUT / "chromedriver.log") as driver:
        shot = Shots(driver, "buoi-sang-cua-can-bo-xa")
        sign_in(driver, web, officer["username"], officer["password"])
        assert "Xã Sơn Động" in by_id(driver, "whoami").text
        shot("trang-chu")
        before = coverage_text(driver, web)

        # register, then enrol a second later: the cases service waits for the registration to reach it
        driver.get(web + "/ho-so/moi")
        fill(driver, {"full_name": name, "date_of_birth": "1990-05-01", "sex": "male", "commune_code": "07615"})
        fill(driver, {"village": "Thôn Thử", "status": "user", "source": "police_review"})
        shot("lap-ho-so")
        by_id(driver, "submit").click()
        wait_for(driver, lambda d: d.find_elements(By.ID, "person-name"), what="the person's file")
        assert by_id(driver, "person-name").text == name
        person_url = driver.current_url
        by_id(driver, "do-enroll").click()
        fill(driver, {"modality": "methadone", "decision_number": "QĐ-MMT-01", "decided_on": started})
        fill(driver, {"started_on": started})
        by_id(driver, "submit").click()
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '.state[data-state="active"]'), what="the case")
        shot("ho-so-dang-dieu-tri")

        # the same person entered twice: the warning, and the merge of the second into the first
        driver.get(web + "/ho-so/moi")
        fill(driver, {"full_name": name, "date_of_birth": "1990-05-01", "sex": "male", "commune_code": "07615"})
        fill(driver, {"status": "user", "source": "self_report"})
        by_id(driver, "submit").click()
        wait_for(driver, lambda d: d.find_elements(By.ID, "person-name"), what="the second file")
        assert "Có thể trùng" in driver.find_element(By.ID, "main").text
        duplicate_url = driver.current_url
        driver.get(person_url)
        shot("canh-bao-trung")
        driver.find_element(By.CSS_SELECTOR, 'a[href*="/merge?duplicate_id="]').click()
        by_id(driver, "submit").click()
        wait_for(driver, lambda d: d.current_url == person_url, what="back on the surviving file")
        assert "Có thể trùng" not in driver.find_element(By.ID, "main").text
        driver.get(duplicate_url)
        assert "Hồ sơ đã đóng" in driver.find_element(By.ID, "main").text  # merged into the first
        sign_out(driver, web)

        # the health facility: the determination, a refused completion, the completion
        sign_in(driver, web, facility["username"], facility["password"])
        driver.get(person_url)
        by_id(driver, "do-determine").click()
        fill(driver, {"result": "addicted", "facility": "Trạm Y tế xã Sơn Động", "form_number": "PX-2026-01"})
        by_id(driver, "submit").click()
        wait_for(driver, lambda d: "Người nghiện" in by_id(d, "person-status").text, what="the new status")
        driver.find_element(By.CSS_SELECTOR, '[id^="do-complete-"]').click()
        fill(driver, {"completed_on": (on - timedelta(days=300)).isoformat(), "certificate_number": "GCN-01"})
        by_id(driver, "submit").click()
        refusal = wait_for(driver, lambda d: d.find_element(By.ID, "f-completed_on-error"), what="the refusal")
        assert re.search(r"ngày|trước", refusal.text), refusal.text  # Vietnamese, next to its field
        shot("tu-choi-hoan-thanh")
        fill(driver, {"completed_on": on.isoformat()})
        by_id(driver, "submit").click()
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '.state[data-state="completed"]'), what="done")
        shot("ho-so-hoan-thanh")
        sign_out(driver, web)

        # the officer: the person found by name, on the work list by name, the decision from the list
        sign_in(driver, web, officer["username"], officer["password"])
        driver.get(web + "/ho-so")
        by_id(driver, "q").send_keys(name.split()[-1])
        driver.find_element(By.CSS_SELECTOR, 'form[role="search"] button').click()
        # the list before the search shows recent files too: wait for the answer to this query, read in one go
        found = wait_for(
            driver,
            lambda d: "q=" in d.current_url and [a.get_attribute("href") for a in d.find_elements(By.LINK_TEXT, name)],
            what="the person in the search",
        )
        assert person_url in found, found
        shot("tim-kiem")
        driver.get(web + "/viec-can-lam?kind=awaiting_post_rehab_decision")
        row = wait_for(
            driver,
            lambda d: [r for r in d.find_elements(By.CSS_SELECTOR, "#work-list tbody tr") if name in r.text],
            what="the person on the work list",
        )[0]
        assert "Thôn Thử" in row.text and "Xã Sơn Động" in row.text
        shot("viec-can-lam")
        row.find_element(By.CSS_SELECTOR, "a.button").click()
        fill(driver, {"decision_number": "QĐ-QLSCN-01", "mentor": "Trưởng thôn Thử"})
        shot("quyet-dinh-sau-cai")
        by_id(driver, "submit").click()
        wait_for(driver, lambda d: d.current_url.endswith("/viec-can-lam"), what="back on the work list")
        assert name not in driver.find_element(By.ID, "main").text

        # the dashboard's coverage figure goes up by one once the reports have the decision
        after = wait_for(
            driver,
            lambda d: (
                (text := coverage_text(d, web)) != before and covered_count(text) == covered_count(before) + 1 and text
            ),
            timeout=30,
            what="the coverage figure to change",
        )
        assert after != before
        shot("trang-chu-sau")

        # the report, on screen and as XLSX read back
        period = f"{on.year}-H{1 if on.month <= 6 else 2}"
        driver.get(f"{web}/bao-cao?unit=07615&period={period}")
        shot("bao-cao")
        for old in (OUTPUT / "downloads").glob("*.xlsx"):
            old.unlink()
        by_id(driver, "download-xlsx").click()
        xlsx = wait_for(driver, lambda d: next((OUTPUT / "downloads").glob("*.xlsx"), None), what="the download")
        sheet = load_workbook(xlsx).active
        cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
        assert any("Xã Sơn Động" in c for c in cells), cells[:20]
        assert any("quản lý sau cai nghiện" in c for c in cells), cells[:40]
        sign_out(driver, web)

        # another commune's officer: the refusal page, nothing of the person on it
        other = accounts[OTHER_COMMUNE.username]
        sign_in(driver, web, other["username"], other["password"])
        driver.get(person_url)
        assert "Không có quyền truy cập" in driver.find_element(By.TAG_NAME, "h1").text
        assert name not in driver.page_source and "Thôn Thử" not in driver.page_source
        shot("khong-co-quyen")


async def test_a_command_waits_for_the_registry_write_it_names_and_only_so_long(system: System) -> None:
    """Register and enrol at once, twenty times: never "unknown person"; a position never reached waits its bound."""
    officer, api = ("commune_officer", "07615"), system.api
    registry, cases = system["registry"].url + "/api/v1", system["cases"].url + "/api/v1"
    for n in range(20):
        person = {
            "full_name": f"Lê Văn {chr(65 + n)}",
            "date_of_birth": "1991-02-03",
            "sex": "male",
            "commune_code": "07615",
            "status": "user",
        }
        registered = await api.send("POST", f"{registry}/persons", officer, json=person)
        assert registered.status_code == 201, registered.text
        position = registered.headers["Rehab-Position"]
        assert position == f"{registered.json()['person_id']}:1"
        enrolment = {
            "person_id": registered.json()["person_id"],
            "modality": "methadone",
            "decision_number": f"QĐ-{n}",
            "decided_on": "2026-01-05",
            "started_on": "2026-01-05",
        }
        enrolled = await api.send("POST", f"{cases}/cases", officer, json=enrolment, headers={"Rehab-After": position})
        assert enrolled.status_code == 201, enrolled.text
    ahead = {**enrolment, "person_id": registered.json()["person_id"]}
    started = time.monotonic()
    after = {"Rehab-After": position[:-1] + "9"}
    refused = await api.send("POST", f"{cases}/cases", officer, json=ahead, headers=after)
    waited = time.monotonic() - started
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "open_case_exists"  # then it decides
    assert waited >= WAIT_BOUND * 0.9, waited  # it waited for version 9, which never comes, as long as its bound


REVIEW_LIST = (
    "Họ và tên,Ngày sinh,Giới tính,Số CCCD,Mã xã,Thôn,Tình trạng\n"
    "Phạm Văn Một,02/03/1988,Nam,,07615,Thôn 2,Người nghiện\n"
    "Vũ Thị Hai,15/11/1995,Nữ,,07615,Thôn 3,Sử dụng trái phép\n"
    "Đỗ Văn Ba,01/01/1990,Nam,12345,07615,Thôn 4,Người nghiện\n"
)


def unlabelled(driver: WebDriver) -> list[str]:
    """The visible inputs of the page without a label (a <label for>, or aria-label): what a screen reader misses."""
    found: list[str] = driver.execute_script(
        """return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(e => e.offsetParent !== null)
             .filter(e => !(e.id && document.querySelector(`label[for="${e.id}"]`)) && !e.getAttribute('aria-label'))
             .map(e => e.name || e.id)"""
    )
    return found


def fits(driver: WebDriver) -> bool:
    width: int = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    return width <= 1


async def test_the_province_plans_an_import_and_operations(web: str, accounts: dict[str, dict[str, str]]) -> None:
    """The province enters its plan and is refused a commune quota above its own at the row; a review list with a
    bad row is imported with its report and the rejected rows handed back; English on request; a phone's width;
    the ops account reads readiness and lag; every input of every page has a label."""
    province, ops = accounts["tinh.bacninh.canbo"], accounts["vanhanh"]
    year = today().year
    with chromium(OUTPUT / "downloads", OUTPUT / "chromedriver.log") as driver:
        shot = Shots(driver, "tinh-ke-hoach-nhap-van-hanh")
        sign_in(driver, web, province["username"], province["password"])
        shot("tinh-trang-chu")
        assert not unlabelled(driver)

        driver.get(f"{web}/ke-hoach?year={year}&unit=24")
        by_id(driver, "q-24-compulsory").send_keys("5")
        by_id(driver, "t-24-post_rehab_management_coverage").send_keys("100")
        by_id(driver, "t-24-share_of_recorded_users_reaching_services").send_keys("80")
        by_id(driver, "document_number").send_keys(f"KH-{year}/UBND tỉnh (thử)")
        assert not unlabelled(driver)
        by_id(driver, "save-plan").click()
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".flash"), what="the plan saved")
        field = by_id(driver, "q-07615-compulsory")
        field.clear()
        field.send_keys("9")
        by_id(driver, "document_number").send_keys(f"KH-13/{year}/UBND (giao chỉ tiêu cho xã)")
        by_id(driver, "save-plan").click()
        refusal = wait_for(driver, lambda d: d.find_element(By.ID, "error-07615"), what="the hierarchy's refusal")
        assert "chỉ tiêu" in refusal.text and "Tỉnh Bắc Ninh" in refusal.text, refusal.text
        shot("ke-hoach-tu-choi")
        driver.get(f"{web}/ke-hoach?year={year}&unit=24")
        assert by_id(driver, "t-24-share_of_recorded_users_reaching_services").get_attribute("value") == "80"
        driver.get(f"{web}/ke-hoach/{year}/24/lich-su")
        assert f"KH-{year}" in driver.find_element(By.ID, "main").text
        shot("ke-hoach-lich-su")

        upload = OUTPUT / "danh-sach-ra-soat.csv"
        upload.write_text(REVIEW_LIST, encoding="utf-8")
        driver.get(web + "/nhap-danh-sach")
        assert not unlabelled(driver)
        by_id(driver, "file").send_keys(str(upload))
        by_id(driver, "upload").click()
        wait_for(driver, lambda d: d.find_elements(By.ID, "import-created"), timeout=60, what="the import's report")
        assert by_id(driver, "import-created").text == "2" and by_id(driver, "import-rejected").text == "1"
        assert "CCCD" in by_id(driver, "rejected").text or "12" in by_id(driver, "rejected").text
        shot("nhap-danh-sach")
        for old in (OUTPUT / "downloads").glob("bi-tu-choi-*.csv"):
            old.unlink()
        by_id(driver, "download-rejected").click()
        rejected = wait_for(driver, lambda d: next((OUTPUT / "downloads").glob("bi-tu-choi-*.csv"), None))
        lines = rejected.read_text(encoding="utf-8-sig").strip().splitlines()
        assert len(lines) == 2 and lines[1].startswith("Đỗ Văn Ba") and "citizen_id" in lines[1], lines

        driver.find_element(By.CSS_SELECTOR, 'a[lang="en"]').click()
        wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en", what="English")
        assert "Import a police review list" in driver.find_element(By.TAG_NAME, "h1").text
        driver.find_element(By.CSS_SELECTOR, 'a[lang="vi"]').click()

        driver.set_window_size(390, 844)
        for path, name in (("/", "dien-thoai-trang-chu"), ("/viec-can-lam", "dien-thoai-viec-can-lam")):
            driver.get(web + path)
            assert fits(driver), f"{path} is wider than a phone"
            shot(name)
        driver.set_window_size(1366, 768)
        sign_out(driver, web)

        sign_in(driver, web, ops["username"], ops["password"])
        driver.get(web + "/van-hanh")
        readiness = by_id(driver, "readiness").text
        assert readiness.count("Sẵn sàng") == 4 and "Không sẵn sàng" not in readiness, readiness
        assert ".registry.events" in by_id(driver, "projections").text  # the test run's own topics
        shot("van-hanh")
        driver.get(web + "/ho-so")
        assert "Không có quyền truy cập" in driver.find_element(By.TAG_NAME, "h1").text  # ops reads no person


async def test_dead_letters_are_listed_and_applied_again_for_operations_only(system: System) -> None:
    api = system.api
    for name in ("registry", "cases", "quotas", "reporting"):
        url = system[name].url + "/api/v1/dead-letters"
        listed = await api.send("GET", url, ("ops", "VN"))
        assert listed.status_code == 200 and listed.json() == {"service": name, "items": []}
        again = await api.send("POST", url + "/replay", ("ops", "VN"))
        assert again.status_code == 200 and again.json()["parked"] == 0, again.text
        for who in (("commune_officer", "07615"), ("auditor", "24")):
            assert (await api.send("GET", url, who)).status_code == 403
            assert (await api.send("POST", url + "/replay", who)).status_code == 403
