"""Polls and the dashboard in a real browser on a phone viewport (Debian's chromium through
Playwright, uvicorn on SQLite): staff create a poll in the console, a resident votes (and is
asked to confirm by e-mail), staff open the dashboard with its heat map. Screenshots go to
test-artifacts/screenshots/citizens-poll-*.png and citizens-dashboard.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from cetate.store.base import ContextStore
from tests.domains.citizens.pages_support import OPERATOR, pages_app, seeded_store
from tests.domains.citizens.test_citizens_browser import _phone, _shot
from tests.web.browser_support import chromium, served

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContextStore]:
    store = seeded_store(tmp_path_factory.mktemp("citizens-polls-browser") / "c.db")
    yield store
    store.close()


@pytest.fixture(scope="module")
def server_url(live_store: ContextStore) -> Iterator[str]:
    with served(pages_app(live_store), "citizens-polls-uvicorn") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_poll_vote_and_dashboard_on_a_phone(browser: Browser, server_url: str) -> None:
    errors: list[str] = []
    resident = _phone(browser, errors)
    # one report, so that the heat map has a cell
    resident.goto(server_url + "/city/oradea/report")
    resident.get_by_label("Categoria problemei").select_option("graffiti")
    resident.get_by_label("Latitudine").fill("47.0722")
    resident.get_by_label("Longitudine").fill("21.9211")
    resident.get_by_role("button", name="Trimite").click()
    expect(resident.get_by_role("heading", level=1)).to_contain_text("Sesizarea nr.")

    staff = _phone(browser, errors)
    staff.goto(server_url + "/citizens/polls")
    staff.get_by_label("Nume de utilizator").fill(OPERATOR[0])
    staff.get_by_label("Parolă").fill(OPERATOR[1])
    staff.get_by_role("button", name="Intră în cont").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Sondajele orașului")
    staff.get_by_label("Întrebare").fill("Unde plantăm copaci?")
    staff.get_by_label("Variante").fill("Parcul 1 Decembrie\nStrada Republicii")
    staff.get_by_label("Se deschide").fill("2026-01-01T00:00")
    staff.get_by_label("Se închide").fill("2036-01-01T00:00")
    staff.get_by_role("button", name="Creează sondajul").click()
    expect(staff.get_by_role("heading", name="Unde plantăm copaci?")).to_be_visible()
    _shot(staff, "poll-staff")

    resident.goto(server_url + "/city/oradea/polls")
    resident.get_by_role("link", name="Unde plantăm copaci?").click()
    resident.get_by_label("Strada Republicii").check()
    resident.get_by_label("E-mail").fill("ana.pop@example.ro")
    resident.get_by_role("button", name="Votează").click()
    expect(resident.locator("#poll-notice")).to_contain_text("confirma votul")
    expect(resident.locator("#poll-total")).to_contain_text("0 vot")
    _shot(resident, "poll-resident")

    staff.goto(server_url + "/citizens/dashboard")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Tabloul sesizărilor")
    expect(staff.locator("#dashboard-total")).to_contain_text("1 sesizare")
    expect(staff.locator("#heat-map")).to_have_attribute("data-count", "1")
    expect(staff.locator("#heat-map path.leaflet-interactive")).to_have_count(1)
    _shot(staff, "dashboard")
    width = staff.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard scrolls sideways on a phone ({width}px)"
    assert errors == []
