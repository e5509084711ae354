"""A real browser for the web app's tests: Debian's Chromium driven by its ChromeDriver through Selenium.

Nothing is downloaded: the browser and the driver are the machine's packages (deploy/local/chromium.sh installs
them), and Selenium is pointed at both, so its manager never looks for another. Chromium runs headless with the
flags a closed network needs (no background networking, no component updates) and a profile of its own.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--window-size=1366,768",
    "--lang=vi",
)


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


@contextmanager
def chromium(downloads: Path, log: Path) -> Iterator[webdriver.Chrome]:
    """A headless Chromium at 1366x768 that saves downloads in `downloads`; quit afterwards."""
    profile = tempfile.mkdtemp(prefix="rehab-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    downloads.mkdir(parents=True, exist_ok=True)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "intl.accept_languages": "vi,en",
        },
    )
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER, log_output=str(log)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: WebDriver, find: Callable[[webdriver.Chrome], Any], timeout: float = 20, what: str = "") -> Any:
    """Poll `find` until it returns something truthy without raising; the page's text in the failure."""
    deadline, last = time.monotonic() + timeout, ""
    while True:
        try:
            found = find(driver)
            if found:
                return found
        except (NoSuchElementException, StaleElementReferenceException, WebDriverException) as exc:
            last = type(exc).__name__
        if time.monotonic() > deadline:
            body = driver.find_element(By.TAG_NAME, "body").text[:1500] if driver.page_source else ""
            raise AssertionError(f"timed out waiting for {what or find} ({last}) on {driver.current_url}:\n{body}")
        time.sleep(0.2)


def by_id(driver: WebDriver, element_id: str) -> WebElement:
    return driver.find_element(By.ID, element_id)


def fill(driver: WebDriver, values: dict[str, str]) -> None:
    """Type each value into the input with id f-<name> (selects pick the option with that value)."""
    for name, value in values.items():
        element = by_id(driver, f"f-{name}")
        if element.tag_name == "select":
            element.find_element(By.CSS_SELECTOR, f'option[value="{value}"]').click()
        elif element.get_attribute("type") == "date":
            driver.execute_script("arguments[0].value = arguments[1]", element, value)
        else:
            element.clear()
            element.send_keys(value)


def sign_in(driver: WebDriver, base: str, username: str, password: str) -> None:
    """Through Keycloak's own login page, as an official does, back to the web app."""
    driver.get(base + "/auth/login")
    wait_for(driver, lambda d: d.find_element(By.ID, "username"), what="Keycloak's login form")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "kc-login").click()
    wait_for(driver, lambda d: d.current_url.startswith(base) and d.find_elements(By.ID, "whoami"), what="signed in")


def sign_out(driver: WebDriver, base: str) -> None:
    driver.get(base + "/")
    by_id(driver, "sign-out").click()
    wait_for(driver, lambda d: d.current_url.startswith(base) and d.find_elements(By.ID, "sign-in"), what="signed out")
