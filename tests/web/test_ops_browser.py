"""The operations pages in a real browser (Debian's chromium through Playwright): provision a
device through the form, see its secret once, revoke it; on a phone, the alerts and
rejected-messages pages fit the screen. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from cetate.api.app import create_app
from cetate.config import Settings
from cetate.ingest.devices.credentials import DeviceCredentials
from cetate.store.base import open_store
from tests.web.browser_support import chromium, served
from tests.web.conftest import seed
from tests.web.ops_support import add_profiles, dead_letter, open_alert, provision
from tests.web.test_console_browser import (
    PHONE,
    PageProblems,
    _log_in,
    _nav,
    _new_page,
    _shot,
)

pytestmark = pytest.mark.browser

LONG_PAYLOAD = b'{"f": "' + b"0123456789abcdef" * 40 + b'", "ts": oops'


@dataclass
class Live:
    url: str
    app: FastAPI


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The real application, with a device profile, a rejected message and an open alert in
    cluj, served by uvicorn on a free loopback port."""
    path = tmp_path_factory.mktemp("ops-browser") / "cetate.db"
    store = open_store(f"sqlite:///{path}")
    store.migrate()
    seed(store)
    settings = Settings(
        database_url="sqlite:///unused.db",
        default_tenant="cluj",
        secret_key="ops-browser-secret-0123456789",
    )
    app = create_app(settings, store)
    add_profiles(app, "cluj")
    provision(app, "cluj", "bin-1")
    dead_letter(app, "cluj", "bin-1", LONG_PAYLOAD)
    open_alert(app, "cluj", "browser-episode", severity="critical")
    with served(app, "ops-uvicorn") as url:
        yield Live(url, app)
    store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _credentials(app: FastAPI) -> DeviceCredentials:
    credentials: DeviceCredentials = app.state.device_credentials
    return credentials


def test_provision_see_the_secret_once_and_revoke(browser: Browser, live: Live) -> None:
    page, problems = _new_page(browser, viewport={"width": 1280, "height": 900})
    _log_in(page, live.url)
    _nav(page, "Dispozitive").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dispozitive")
    expect(page.locator("table.device-table tbody tr")).to_have_count(1)

    # a bad id is refused next to the field, in Romanian
    page.get_by_label("Identificator dispozitiv").fill("senzor 7!")
    problems.allowed.append("status of 422")
    page.get_by_role("button", name="Înregistrează").click()
    expect(page.locator("#device_id-error")).to_contain_text("Folosiți 1-64 litere")

    # provision: the token is shown once, with the warning
    page.get_by_label("Identificator dispozitiv").fill("senzor-7")
    page.get_by_label("Profil").select_option("bin-v1")
    page.get_by_label("HTTP (token)").check()
    page.get_by_role("button", name="Înregistrează").click()
    secrets = page.locator("section.secrets")
    expect(secrets).to_contain_text("sunt afișate doar de această dată")
    token = page.locator('[data-secret="http-token"]').inner_text()
    assert re.fullmatch(r"cdev_[0-9a-f]{16}_[A-Za-z0-9]{40}", token)
    assert _credentials(live.app).verify_http(token).ok
    _shot(page, "20-device-provisioned")
    page.goto(live.url + "/devices")
    expect(page.locator("table.device-table tbody tr")).to_have_count(2)
    assert token not in page.content()

    # revoke, after a confirmation
    page.get_by_role("link", name="senzor-7", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("senzor-7")
    expect(page.locator(".facts")).to_contain_text("active")
    assert token not in page.content()
    page.get_by_role("link", name="Revocă credențialele").click()
    expect(page.get_by_role("alert")).to_contain_text("Revocați credențialele lui senzor-7?")
    _shot(page, "21-device-revoke-confirm")
    page.get_by_role("button", name="Da, revocă").click()
    expect(page.get_by_role("status")).to_contain_text("Credențialele au fost revocate")
    expect(page.locator(".facts .state-revoked")).to_have_text("revocate")
    assert not _credentials(live.app).verify_http(token).ok
    _shot(page, "22-device-revoked")

    assert problems.errors == []
    page.context.close()


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px screen"


def test_alerts_and_dead_letters_on_a_phone(browser: Browser, live: Live) -> None:
    phone: dict[str, Any] = {
        "viewport": PHONE,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    }
    page, problems = _new_page(browser, **phone)
    _log_in(page, live.url)

    page.get_by_role("button", name="Meniu").click()
    _nav(page, "Alerte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerte")
    item = page.locator(".alert-item", has_text="browser-episode")
    expect(item).to_be_visible()
    expect(item.locator(".severity-critical")).to_have_text("critică")
    expect(item.get_by_role("button", name="Confirmă")).to_be_visible()
    _no_sideways_scroll(page)
    _shot(page, "23-phone-alerts")

    page.goto(live.url + "/dead-letters")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mesaje respinse")
    letter = page.locator(".letter").first
    expect(letter).to_contain_text("malformed_json")
    expect(letter.locator("pre.payload")).to_contain_text("0123456789abcdef")
    expect(letter.get_by_role("button", name="Retrimite")).to_be_visible()
    _no_sideways_scroll(page)
    _shot(page, "24-phone-dead-letters")

    page.goto(live.url + "/devices")
    expect(page.locator("table.device-table")).to_be_visible()
    _no_sideways_scroll(page)
    _shot(page, "25-phone-devices")

    assert problems.errors == []
    assert isinstance(problems, PageProblems)
    page.context.close()
