"""The console in a real browser: the application served by uvicorn on a loopback port, driven
through Debian's chromium with Playwright. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    expect,
)

from cetate.api.app import create_app
from cetate.config import Settings
from cetate.store.base import ContextStore, open_store
from tests.web.browser_support import chromium, served
from tests.web.conftest import ADMIN, seed

pytestmark = pytest.mark.browser

SCREENSHOTS: Final = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE: Final = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def live_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContextStore]:
    path = tmp_path_factory.mktemp("browser") / "cetate.db"
    store = open_store(f"sqlite:///{path}")
    store.migrate()
    seed(store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def server_url(live_store: ContextStore) -> Iterator[str]:
    """The real application on a free loopback port, in a thread."""
    settings = Settings(
        database_url="sqlite:///unused.db",
        default_tenant="cluj",
        secret_key="browser-test-secret-0123456789",
    )
    app = create_app(settings, live_store)
    with served(app, "console-uvicorn") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


class PageProblems:
    """JavaScript errors and failed requests seen by a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.allowed: list[str] = []
        """substrings of messages the test provokes on purpose"""
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)
        page.on("requestfailed", self._failed)

    def _failed(self, request: Request) -> None:
        # the browser drops the icon's request when the page navigates before it arrives
        if request.url.endswith("/favicon.svg") and request.failure == "net::ERR_ABORTED":
            return
        self.errors.append(f"failed: {request.url}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not any(a in message.text for a in self.allowed):
            self.errors.append(f"console: {message.text}")


def _new_page(browser: Browser, **context_args: Any) -> tuple[Page, PageProblems]:
    context = browser.new_context(locale="ro-RO", **context_args)
    context.set_default_timeout(15_000)
    page = context.new_page()
    return page, PageProblems(page)


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _nav(page: Page, name: str) -> Locator:
    """A link of the shell's main navigation (not the page content's links)."""
    return page.locator("nav.main-nav").get_by_role("link", name=name, exact=True)


def _log_in(page: Page, base: str) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Nume de utilizator").fill(ADMIN[0])
    page.get_by_label("Parolă").fill(ADMIN[1])
    page.get_by_role("button", name="Intră în cont").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tipuri de entități")


def test_console_end_to_end(browser: Browser, server_url: str) -> None:
    page, problems = _new_page(browser, viewport={"width": 1280, "height": 900})

    # logged out: every page goes to the login form; a wrong password says so
    page.goto(server_url + "/entities")
    expect(page).to_have_url(re.compile(r"/login\?next=/entities"))
    page.get_by_label("Nume de utilizator").fill(ADMIN[0])
    problems.allowed.append("status of 401")  # the refused login answers 401
    page.get_by_label("Parolă").fill("not-the-password")
    page.get_by_role("button", name="Intră în cont").click()
    expect(page.get_by_role("alert")).to_contain_text("Nume de utilizator sau parolă greșite")
    _shot(page, "01-login-failed")

    # log in: back to where we were going
    page.get_by_label("Parolă").fill(ADMIN[1])
    page.get_by_role("button", name="Intră în cont").click()
    expect(page).to_have_url(server_url + "/entities")

    # home: entity types with counts
    _nav(page, "Acasă").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tipuri de entități")
    waste = page.locator(".type-card", has_text="WasteContainer")
    expect(waste.locator(".type-count")).to_contain_text("3")
    expect(page.locator(".type-card")).to_have_count(3)
    _shot(page, "02-home")

    # entity browser: search narrows the table through htmx, without a page load
    _nav(page, "Entități").click()
    rows = page.locator("table.entity-table tbody tr")
    expect(rows).to_have_count(5)
    page.evaluate("window.__noReload = true")
    page.get_by_label("Caută după identificator").fill("0002")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("WasteContainer:cluj:0002")
    expect(page).to_have_url(re.compile(r"q=0002"))
    assert page.evaluate("window.__noReload") is True  # a partial update, same document
    page.get_by_label("Tip", exact=True).select_option(label="AirQualityObserved")
    expect(page.locator(".results")).to_contain_text("Nicio entitate nu corespunde")
    page.get_by_label("Caută după identificator").fill("")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("mărăști")
    _shot(page, "03-entities")

    # the map: no tile server needed, one marker per located entity, popups link to details
    _nav(page, "Hartă").click()
    map_el = page.locator("#entity-map")
    expect(map_el).to_have_attribute("data-loaded", "1")
    markers = page.locator("#entity-map path.leaflet-interactive")
    expect(markers).to_have_count(4)
    expect(page.locator("#map-status")).to_have_text("4 entități pe hartă")
    assert page.locator("#entity-map .leaflet-tile").count() == 0
    expect(page.locator(".leaflet-control-scale")).to_be_visible()
    markers.first.click(force=True)
    popup_link = page.locator(".leaflet-popup-content a")
    expect(popup_link).to_have_text("Deschide detaliile")
    _shot(page, "04-map")
    popup_link.click()
    expect(page).to_have_url(re.compile(r"/entities/urn:ngsi-ld:"))

    # entity details: attributes and a chart of each numeric attribute's history
    page.goto(server_url + "/entities/urn:ngsi-ld:WasteContainer:cluj:0001")
    expect(page.get_by_role("heading", level=1)).to_have_text("WasteContainer:cluj:0001")
    attributes = page.locator("table.attribute-table")
    expect(attributes).to_contain_text("fillingLevel")
    expect(attributes).to_contain_text("Piața Unirii 1")
    chart = page.locator("#charts .chart-plot canvas")
    expect(chart.first).to_be_visible()
    expect(page.locator("#charts")).to_contain_text("24 citiri")
    page.get_by_role("link", name="Ultimele 7 zile").click()
    expect(page.locator("#charts")).to_contain_text("73 citiri")
    expect(page.get_by_role("link", name="Ultimele 7 zile")).to_have_attribute(
        "aria-current", "true"
    )
    expect(chart.first).to_be_visible()
    _shot(page, "05-entity")

    # language: English, then back to Romanian with its diacritics
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Attributes")).to_be_visible()
    _nav(page, "Home").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Entity types")
    _shot(page, "06-home-english")
    page.get_by_role("button", name="Română").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tipuri de entități")
    expect(_nav(page, "Entități")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Ce păstrează Cluj-Napoca în registrul")

    # tenant switch: Iași has a streetlight only
    page.get_by_label("Municipiu").select_option("iasi")
    expect(page.locator(".type-card")).to_have_count(1)
    expect(page.locator(".type-card")).to_contain_text("Streetlight")
    page.get_by_label("Municipiu").select_option("cluj")
    expect(page.locator(".type-card")).to_have_count(3)

    # logout
    page.get_by_role("button", name="Ieșire din cont").click()
    expect(page.get_by_role("status")).to_have_text("Ați ieșit din cont.")
    page.goto(server_url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    _shot(page, "07-logged-out")

    assert problems.errors == []
    page.context.close()


def test_console_on_a_phone(browser: Browser, server_url: str) -> None:
    page, problems = _new_page(
        browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    _log_in(page, server_url)

    def no_sideways_scroll() -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px screen"

    # the navigation folds behind a menu button
    nav_link = _nav(page, "Entități")
    menu = page.get_by_role("button", name="Meniu")
    expect(menu).to_be_visible()
    expect(nav_link).to_be_hidden()
    no_sideways_scroll()
    _shot(page, "10-phone-home")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav_link).to_be_visible()
    _shot(page, "11-phone-menu")
    nav_link.click()
    expect(page.locator("table.entity-table tbody tr")).to_have_count(5)
    no_sideways_scroll()
    _shot(page, "12-phone-entities")

    page.goto(server_url + "/map")
    expect(page.locator("#entity-map")).to_have_attribute("data-loaded", "1")
    expect(page.locator("#entity-map path.leaflet-interactive")).to_have_count(4)
    box = page.locator("#entity-map").bounding_box()
    assert box is not None
    assert box["width"] <= PHONE["width"]
    assert box["height"] >= 300
    no_sideways_scroll()
    _shot(page, "13-phone-map")

    page.goto(server_url + "/entities/urn:ngsi-ld:AirQualityObserved:cluj:m%C4%83r%C4%83%C8%99ti")
    canvas = page.locator("#charts .chart-plot canvas").first
    expect(canvas).to_be_visible()
    chart_box = page.locator("#charts .chart-plot").first.bounding_box()
    assert chart_box is not None
    assert chart_box["width"] <= PHONE["width"]
    no_sideways_scroll()
    _shot(page, "14-phone-entity")

    assert problems.errors == []
    page.context.close()
