"""The whole path in a real browser on a phone viewport (Debian's chromium through
Playwright, the application served by uvicorn on SQLite): a resident reports a pothole with a
photo and a pin on the map, gets the tracking link; staff acknowledge, assign and resolve it
with a public note in the inbox; the tracking page shows each step. Screenshots go to
test-artifacts/screenshots/citizens-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from cetate.store.base import ContextStore
from tests.domains.citizens.conftest import jpeg_with_gps
from tests.domains.citizens.pages_support import OPERATOR, pages_app, seeded_store
from tests.web.browser_support import chromium, served

pytestmark = pytest.mark.browser

SCREENSHOTS: Final = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
PHONE: Final[ViewportSize] = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def live_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContextStore]:
    store = seeded_store(tmp_path_factory.mktemp("citizens-browser") / "c.db")
    yield store
    store.close()


@pytest.fixture(scope="module")
def server_url(live_store: ContextStore) -> Iterator[str]:
    with served(pages_app(live_store), "citizens-uvicorn") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"citizens-{name}.png"), full_page=True)


def _phone(browser: Browser, errors: list[str]) -> Page:
    context = browser.new_context(
        locale="ro-RO", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    return page


def test_from_a_report_to_its_resolution(browser: Browser, server_url: str, tmp_path: Path) -> None:
    errors: list[str] = []
    photo = tmp_path / "groapa.jpg"
    photo.write_bytes(jpeg_with_gps((1200, 900)))

    # the resident: category, a pin on the map, a photo, a description, an e-mail
    resident = _phone(browser, errors)
    resident.goto(server_url + "/city/oradea/report")
    expect(resident.get_by_role("heading", level=1)).to_have_text("Raportează o problemă")
    resident.get_by_label("Categoria problemei").select_option("pothole")
    # only the chosen category's details are shown
    expect(resident.get_by_label("Cât de mare este groapa?")).to_be_visible()
    expect(resident.get_by_label("Ce fel de container? *")).to_be_hidden()
    resident.locator("#pick-map").click(position={"x": 195, "y": 140})
    expect(resident.get_by_role("status").filter(has_text="Marcaj pus")).to_be_visible()
    assert resident.get_by_label("Latitudine").input_value() != ""
    resident.get_by_label("Fotografie").set_input_files(str(photo))
    resident.get_by_label("Descriere").fill("Groapă adâncă <b>în</b> fața școlii")
    resident.get_by_label("E-mail").fill("ana.pop@example.ro")
    _shot(resident, "01-report-form")
    resident.get_by_role("button", name="Trimite sesizarea").click()
    expect(resident.get_by_text("Mulțumim! Sesizarea a fost înregistrată.")).to_be_visible()
    link = resident.locator("#tracking-link").get_attribute("href")
    assert link is not None
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/city/oradea/track/[\w-]+", link)
    heading = resident.get_by_role("heading", level=1).inner_text()
    request_id = heading.split()[-1]
    expect(resident.locator("#current-status")).to_have_text("nouă")
    expect(resident.locator(".description")).to_have_text("Groapă adâncă <b>în</b> fața școlii")
    expect(resident.locator("img.report-photo")).to_be_visible()
    _shot(resident, "02-tracking-new")

    # the public map shows it (a marker and the list), without the reporter
    resident.goto(server_url + "/city/oradea/map")
    expect(resident.get_by_role("status")).to_have_text("1 sesizări deschise")
    expect(resident.locator("#reports-map path.leaflet-interactive")).to_have_count(1)
    expect(resident.get_by_text("ana.pop@example.ro")).to_have_count(0)
    _shot(resident, "03-public-map")

    # staff: sign in, find it in the inbox, acknowledge, assign, resolve with a public note
    staff = _phone(browser, errors)
    staff.goto(server_url + "/citizens/inbox")
    staff.get_by_label("Nume de utilizator").fill(OPERATOR[0])
    staff.get_by_label("Parolă").fill(OPERATOR[1])
    staff.get_by_role("button", name="Intră în cont").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Sesizări primite")
    staff.get_by_label("Stare").select_option("new")
    staff.get_by_role("button", name="Filtrează").click()
    _shot(staff, "04-inbox")
    staff.get_by_role("link", name=re.compile(rf"#{request_id} ")).click()
    expect(staff.locator("#current-status")).to_have_text("nouă")
    expect(staff.get_by_text("ana.pop@example.ro")).to_be_visible()

    def move(status: str, note: str) -> None:
        staff.get_by_label("Starea nouă").select_option(status)
        staff.get_by_label("Notă publică (opțional)").fill(note)
        staff.get_by_role("button", name="Schimbă starea").click()
        expect(staff.get_by_role("status")).to_have_text("Modificare salvată.")

    move("acknowledged", "Am preluat sesizarea")
    staff.get_by_label("Alocă lui").select_option(OPERATOR[0])
    staff.get_by_role("button", name="Alocă", exact=True).click()
    expect(staff.locator("#assignee")).to_have_text(OPERATOR[0])
    move("in_progress", "Echipa e pe drum")
    move("resolved", "Groapa a fost astupată")
    expect(staff.locator("#current-status")).to_have_text("rezolvată")
    _shot(staff, "05-staff-detail")

    # the resident's tracking link shows every step, and not who did it
    resident.goto(link)
    expect(resident.locator("#current-status")).to_have_text("rezolvată")
    steps = resident.locator("ol.timeline > li")
    expect(steps).to_have_count(4)
    expect(steps.nth(1)).to_contain_text("Am preluat sesizarea")
    expect(steps.nth(2)).to_contain_text("Echipa e pe drum")
    expect(steps.nth(3)).to_contain_text("Groapa a fost astupată")
    expect(resident.get_by_text(OPERATOR[0])).to_have_count(0)
    _shot(resident, "06-tracking-resolved")

    # the public map lists open reports only: the resolved one is gone
    resident.goto(server_url + "/city/oradea/map")
    expect(resident.get_by_role("status")).to_have_text("0 sesizări deschise")
    assert errors == []
