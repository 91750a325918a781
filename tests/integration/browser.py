"""Debian's headless chromium driven by Selenium, for the web page tests; every call runs in a thread so the
runner under test (on the test's event loop) keeps serving while the browser waits."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

T = TypeVar("T")
# A bound on each wait for the page, not a measurement: a wait that passes returns as soon as the DOM shows it.
PATIENCE = 30.0


def _tools() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("chromium and chromedriver are needed (Debian: chromium chromium-driver; scripts/test-tools.sh)")
    return chromium, driver


@pytest.fixture(scope="session")
def chromium() -> Iterator[WebDriver]:
    """One headless chromium for the session; each test opens its own runner (its own origin and storage)."""
    binary, driver_path = _tools()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1100", "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class Page:
    driver: WebDriver

    async def do(self, action: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(action, *args)

    async def open(self, url: str) -> None:
        await self.do(self.driver.get, url)

    async def until(self, condition: Callable[[WebDriver], T]) -> T:
        """Waits for a DOM condition (WebDriverWait polls it), failing with the page's notice if it never holds."""
        return await self.do(WebDriverWait(self.driver, PATIENCE).until, condition)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return str(self.driver.find_element(By.CSS_SELECTOR, css).text)

    async def shows(self, css: str, text: str) -> None:
        """Waits until the element at `css` exists and its text contains `text`."""
        def condition(driver: WebDriver) -> bool:
            return any(text in element.text for element in driver.find_elements(By.CSS_SELECTOR, css))
        await self.until(condition)

    async def step_is(self, step: str, state: str) -> None:
        await self.until(lambda driver: driver.find_elements(
            By.CSS_SELECTOR, f'#steps-body tr[data-step="{step}"][data-state="{state}"]'))

    async def run_is(self, state: str) -> None:
        await self.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, f'#run-state[data-state="{state}"]'))

    async def fill(self, form: str, values: dict[str, str]) -> None:
        def typing() -> None:
            for name, value in values.items():
                field = self.find(f'{form} [name="{name}"]')
                if field.tag_name == "select":
                    Select(field).select_by_visible_text(value)
                else:
                    field.clear()
                    field.send_keys(value)
            self.find(f'{form} button[type="submit"]').click()
        await self.do(typing)

    async def click(self, css: str) -> None:
        await self.do(lambda: self.find(css).click())

    async def screenshot(self, path: str) -> None:
        await self.do(self.driver.save_screenshot, path)
