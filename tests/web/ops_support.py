"""Helpers of the operations-page tests: device profiles, dead letters and alerts written
through the application's real services."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.auth.sessions import SESSION_COOKIE_NAME
from cetate.ingest.devices.model import DeviceSpec
from cetate.ingest.devices.service import DeviceService
from cetate.ingest.pipeline import IngestPipeline
from cetate.ngsi.representation import expand_entity
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.rules.alerts import build_alert
from cetate.reactions.rules.entity import alert_context
from cetate.reactions.rules.evaluator import Opened
from cetate.reactions.rules.model import parse_rule
from tests.ingest.conftest import BIN_PROFILE
from tests.reactions.rules.support import sustained_rule

RULE: Final[dict[str, Any]] = sustained_rule()


def csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: httpx.Client, app: FastAPI, username: str, tenant: str = "cluj") -> None:
    """A session cookie for ``username`` with ``tenant`` selected, signed as the login would
    (without paying for the password hash again in every test)."""
    codec = app.state.console.codec(app.state.store, app.state.settings)
    client.cookies.set(SESSION_COOKIE_NAME, codec.encode(username, tenant))


@contextmanager
def signed_in_client(app: FastAPI, username: str, tenant: str = "cluj") -> Iterator[httpx.Client]:
    """A client of ``app`` (redirects not followed) with the session of ``username`` in
    ``tenant``."""
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, app, username, tenant)
        yield client


def token_of(client: httpx.Client, path: str = "/devices") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf(page.text)


def devices(app: FastAPI) -> DeviceService:
    service: DeviceService = app.state.devices
    return service


def add_profiles(app: FastAPI, *tenants: str) -> None:
    for tenant in tenants:
        devices(app).put_profile(tenant, BIN_PROFILE)


def provision(app: FastAPI, tenant: str, device: str, transport: str = "http") -> str | None:
    """A device with the bin profile; its HTTP token."""
    issued = devices(app).provision(
        tenant,
        DeviceSpec.model_validate(
            {"deviceId": device, "profile": "bin-v1", "transport": transport}
        ),
    )
    return issued.http_token


def dead_letter(app: FastAPI, tenant: str, device: str, payload: bytes) -> int:
    """A message the pipeline rejects; the id of its dead letter."""
    pipeline: IngestPipeline = app.state.ingest
    outcome = pipeline.ingest(tenant, device, payload, utc_now(), "mqtt")
    assert outcome.dead_letter_id is not None, outcome
    return outcome.dead_letter_id


def open_alert(app: FastAPI, tenant: str, episode: str, *, severity: str = "high") -> str:
    """An open Alert entity as the rules engine raises it; its id."""
    rule = parse_rule({**RULE, "severity": severity})
    now = datetime.now(UTC).replace(microsecond=0)
    opened = Opened(
        rule_id=rule.id,
        entity_id=f"urn:ngsi-ld:WasteContainer:{tenant}:0001",
        episode_id=episode,
        started_at=now,
        value=0.93,
        message={"ro": f"Container plin {episode}", "en": f"Container full {episode}"},
        condition_since=now,
    )
    payload = build_alert(rule, opened, issued_at=now)
    app.state.entity_service.create(tenant, expand_entity(payload, alert_context()))
    return str(payload["id"])
