"""The public air pages in a real browser on a phone viewport: Debian's chromium through
Playwright against the application served by uvicorn. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, ConsoleMessage, ViewportSize, expect

from cetate.domains.environment.simulator import simulate_city
from cetate.entities import EntityService
from cetate.store.base import open_store
from tests.domains.environment.support import TENANT, application, public_tenants
from tests.web.browser_support import chromium, served

pytestmark = pytest.mark.browser

SCREENSHOTS: Final = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
PHONE: Final[ViewportSize] = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('air-browser') / 'cetate.db'}")
    store.migrate()
    public_tenants(store)
    simulate_city(EntityService(store), TENANT, stations=3, hours=48, faulty=1, gap_rate=0)
    try:
        with served(application(store), "air-uvicorn") as url:
            yield url
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_air_pages_on_a_phone(browser: Browser, server_url: str) -> None:
    context = browser.new_context(
        locale="ro-RO", viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", console)
    try:
        page.goto(f"{server_url}/air/{TENANT}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Calitatea aerului în Constanța")
        expect(page.locator("#air-map")).to_have_attribute("data-markers", "3", timeout=15000)
        expect(page.locator(".leaflet-interactive")).to_have_count(3)
        expect(page.locator("#air-stations li")).to_have_count(3)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways ({width} px)"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "air-map-phone.png"), full_page=True)

        page.locator("#air-stations li a").nth(1).click()
        expect(page.locator("#air-chart")).to_have_attribute("data-plotted", "5", timeout=15000)
        expect(page.locator("#air-chart canvas")).to_have_count(1)
        expect(page.get_by_role("heading", name="Grupuri sensibile")).to_be_visible()
        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", name="European Air Quality Index now")).to_be_visible()
        expect(page.locator("#air-chart canvas")).to_have_count(1)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the station page scrolls sideways ({width} px)"
        page.screenshot(path=str(SCREENSHOTS / "air-station-phone.png"), full_page=True)

        # the download form switches to GeoJSON
        page.select_option("#air-format", "geojson")
        with page.expect_response(lambda r: "/hourly.geojson" in r.url) as caught:
            page.get_by_role("button", name="Download").click()
        assert caught.value.status == 200
        assert errors == []
    finally:
        context.close()
