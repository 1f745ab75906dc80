"""Domains plugging pages into the console (src/cetate/web/registry.py)."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from cetate.config import Settings
from cetate.store.base import ContextStore
from cetate.web import mount_console
from cetate.web.registry import (
    ConsoleDomain,
    DomainRegistry,
    NavEntry,
    default_registry,
    register_domain,
    resolve_domain,
)
from cetate.web.rendering import render
from cetate.web.session import ConsoleContextDep
from tests.web.conftest import log_in


def make_test_domain(tmp_path: Path) -> ConsoleDomain:
    """A tiny domain: one page with its own template extending the shell."""
    templates = tmp_path / "templates"
    (templates / "gradini").mkdir(parents=True)
    (templates / "gradini" / "parks.html").write_text(
        '{% extends "console/base.html" %}'
        "{% block content %}<h1>{{ t('gradini.title') }}</h1>"
        "<p id='tenant'>{{ console.tenant.name }}</p>{% endblock %}",
        encoding="utf-8",
    )
    router = APIRouter()

    @router.get("/gradini", response_class=HTMLResponse)
    def parks(context: ConsoleContextDep) -> HTMLResponse:
        return render(context.request, "gradini/parks.html", context)

    return ConsoleDomain(
        name="gradini",
        nav=[NavEntry(path="/gradini", labels={"ro": "Grădini", "en": "Gardens"}, icon="✿")],
        router=router,
        templates_dir=templates,
        messages={"ro": {"gradini.title": "Grădinile orașului"}, "en": {"gradini.title": "Parks"}},
    )


@pytest.fixture
def domain_client(
    tmp_path: Path, console_store: ContextStore, console_settings: Settings
) -> httpx.Client:
    registry = DomainRegistry()
    registry.register(make_test_domain(tmp_path))
    app = FastAPI()
    app.state.store = console_store
    app.state.settings = console_settings
    mount_console(app, registry=registry)
    return TestClient(app, follow_redirects=False)


def test_domain_page_renders_in_the_shell_with_its_nav_entry(domain_client: httpx.Client) -> None:
    assert domain_client.get("/gradini").status_code == 303  # pages of domains need a login too
    log_in(domain_client)
    page = domain_client.get("/gradini")
    assert page.status_code == 200
    assert "<h1>Grădinile orașului</h1>" in page.text
    assert "<p id='tenant'>cluj</p>" in page.text
    assert 'href="/gradini" aria-current="page"' in page.text
    assert "Grădini</a>" in page.text
    home = domain_client.get("/")
    assert 'href="/gradini"' in home.text  # every page's nav shows the domain
    domain_client.cookies.set("cetate_lang", "en")
    assert "Gardens</a>" in domain_client.get("/").text
    assert "<h1>Parks</h1>" in domain_client.get("/gradini").text


def test_explicit_registration_in_the_default_registry(tmp_path: Path) -> None:
    domain = make_test_domain(tmp_path)
    register_domain(domain)
    try:
        assert domain in default_registry.domains()
        assert default_registry.nav_entries()[-1].label("fr") == "Gardens"
    finally:
        default_registry.unregister("gradini")
    assert domain not in default_registry.domains()


def entry_point_target() -> ConsoleDomain:
    return ConsoleDomain(
        name="from-entry-point",
        nav=[NavEntry(path="/ep", labels={"en": "EP"})],
    )


class _Manifest:
    console = staticmethod(entry_point_target)


manifest = _Manifest()


def test_discovery_through_entry_points() -> None:
    registry = DomainRegistry()
    eps = [
        EntryPoint("good", f"{__name__}:entry_point_target", "cetate.domains"),
        EntryPoint("manifest", f"{__name__}:manifest", "cetate.domains"),
        EntryPoint("broken", "cetate.no_such_module:thing", "cetate.domains"),
    ]
    loaded = registry.discover(eps)
    assert loaded == ["from-entry-point"]  # the manifest names the same domain; broken skipped
    assert [e.path for e in registry.nav_entries()] == ["/ep"]


def test_resolve_domain_accepts_instances_callables_and_manifests() -> None:
    domain = entry_point_target()
    assert resolve_domain(domain) is domain
    assert resolve_domain(entry_point_target) == domain
    assert resolve_domain(manifest) == domain
    assert resolve_domain(object()) is None
    assert resolve_domain(lambda: 42) is None  # another part of a domain, not the console's
    assert resolve_domain(lambda: manifest) == domain
