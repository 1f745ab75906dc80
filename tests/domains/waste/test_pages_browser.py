"""The bins map in a real browser (Debian's chromium) on a phone: Leaflet draws one marker per
bin, the page does not scroll sideways, the colour switch works."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, ConsoleMessage, ViewportSize, expect

from tests.domains.waste.pages_support import OPERATOR, application, seeded_store
from tests.web.browser_support import chromium, served

pytestmark = pytest.mark.browser

SCREENSHOTS: Final = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
PHONE: Final[ViewportSize] = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("waste-browser") / "cetate.db"
    store = seeded_store(path)  # the console finds the domain through its entry point
    try:
        with served(application(store, path), "waste-uvicorn") as url:
            yield url
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_bins_map_on_a_phone(browser: Browser, server_url: str) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", console)
    try:
        page.goto(f"{server_url}/waste/bins")
        expect(page).to_have_url(re.compile(r"/login\?next=/waste/bins"))
        page.get_by_label("Nume de utilizator").fill(OPERATOR[0])
        page.get_by_label("Parolă").fill(OPERATOR[1])
        page.get_by_role("button", name="Intră în cont").click()
        expect(page).to_have_url(f"{server_url}/waste/bins")
        expect(page.get_by_role("heading", level=1)).to_have_text("Containere de deșeuri")
        expect(page.locator("#waste-map")).to_have_attribute("data-markers", "3", timeout=15000)
        expect(page.locator("#waste-map canvas")).to_have_count(1)  # canvas renderer
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways ({width} px)"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "waste-bins-phone.png"), full_page=True)
        page.get_by_role("link", name="zile până la umplere").click()
        expect(page.locator('a[aria-current="true"]')).to_have_text("zile până la umplere")
        expect(page.locator("#waste-map")).to_have_attribute("data-markers", "3", timeout=15000)
        assert errors == []
    finally:
        context.close()
