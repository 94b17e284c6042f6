"""Headless Chromium for the browser tests (``@pytest.mark.live``): the ``browser`` fixture and ``page_wait``.

Debian's ``chromium`` and ``chromium-driver`` drive it (``.ci/run`` installs them when missing; the tests
skip without them). The flags keep Chromium to itself on a closed network: no sandbox (containers), no GPU,
no background fetches, updates, sync or first-run pages.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000",
)  # fmt: skip
DEADLINE = 20.0  # bounds a broken run; not a timed assertion


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium (selenium WebDriver), quit after the test."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium or chromedriver is not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def page_wait(driver, script: str, what: str, *, describe: Callable[[], str] | None = None) -> Any:
    """Run ``script`` in the page until it returns something truthy; fail with ``what`` and ``describe()``
    (by default the page's text) after ``DEADLINE``."""
    deadline = time.monotonic() + DEADLINE
    while True:
        value = driver.execute_script(script)
        if value:
            return value
        if time.monotonic() > deadline:
            state = describe() if describe else driver.execute_script("return document.body.innerText.slice(0, 3000)")
            pytest.fail(f"Timed out waiting for {what}; page state: {state}", pytrace=False)
        time.sleep(0.05)


def page_submit(driver, selector: str) -> None:
    """Click ``selector`` (a submit button or a link) and wait until the next page has replaced this one."""
    old = driver.find_element("tag name", "html")
    driver.find_element("css selector", selector).click()
    deadline = time.monotonic() + DEADLINE
    while not _replaced(driver, old) and time.monotonic() < deadline:
        time.sleep(0.05)  # the click's navigation has not replaced the page yet
    page_wait(driver, "return document.readyState === 'complete'", "the next page")


def _replaced(driver, old) -> bool:
    """Whether the page holding ``old`` is gone; mid-navigation the driver may refuse to look (not yet)."""
    from selenium.common.exceptions import WebDriverException

    try:
        return old.id != driver.find_element("tag name", "html").id
    except WebDriverException:
        return False
