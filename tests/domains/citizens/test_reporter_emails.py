"""E-mails to reporters at each public status change, through the durable queue, to a real
local SMTP server (aiosmtpd): language, tracking link, anonymity, retries, the scheduler job."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient

from cetate.config import Settings
from cetate.domains.citizens import EMAIL_JOB
from cetate.domains.citizens.notifications import QUEUE, ReporterMailer
from tests.domains.citizens.conftest import Desk, report, sent_messages

V2 = "/open311/v2"
API = "/api/v1/oradea/citizens"


def _new(desk: Desk, locale: str | None = None, **extra: str) -> str:
    params = {"locale": locale} if locale else {}
    response = desk.client.post(
        f"{V2}/requests.json", data=report(desk.keys.api_key["oradea"], **extra), params=params
    )
    assert response.status_code == 201, response.text
    return str(response.json()[0]["service_request_id"])


def _move(desk: Desk, request_id: str, **body: Any) -> None:
    response = desk.client.post(
        f"{API}/requests/{request_id}/status", json=body, headers=desk.keys.operator["oradea"]
    )
    assert response.status_code == 200, response.text


def _send(desk: Desk) -> int:
    return asyncio.run(desk.runtime.mailer.run_once())


def _messages(desk: Desk) -> list[EmailMessage]:
    return sent_messages(desk.smtp)


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_each_status_change_mails_the_reporter_in_their_language(desk: Desk) -> None:
    ro = _new(desk)
    en = _new(desk, locale="en", email="john@example.com", first_name="John", last_name="Doe")
    _move(desk, ro, status="acknowledged", note="Am primit sesizarea")
    _move(desk, en, status="acknowledged", note="On our list")
    assert desk.store.queue_length(QUEUE) == 2
    assert _send(desk) == 2
    assert desk.store.queue_length(QUEUE) == 0
    by_recipient = {str(m["To"]): m for m in _messages(desk)}
    assert set(by_recipient) == {"ana.pop@example.ro", "john@example.com"}
    romanian, english = by_recipient["ana.pop@example.ro"], by_recipient["john@example.com"]
    assert romanian["Subject"] == f"[Cetate] Sesizarea nr. {ro}: preluată"
    assert romanian["Content-Language"] == "ro"
    assert "Am primit sesizarea" in _text(romanian)
    assert "Groapă în carosabil" in _text(romanian)
    assert english["Subject"] == f"[Cetate] Report no. {en}: acknowledged"
    assert "Pothole" in _text(english)
    assert "On our list" in _text(english)
    # each reporter gets a separate message: nobody sees another's address
    for message in (romanian, english):
        assert len(message.get_all("To", [])) == 1
        assert "Cc" not in message
        assert "Bcc" not in message
    # the tracking link works and shows the public update, not the reporter
    [link] = [w for w in _text(romanian).split() if "/citizens/track/" in w]
    tracked = desk.client.get(link.replace("http://testserver", ""))
    assert tracked.status_code == 200
    assert tracked.json()["request"]["status_notes"] == "Am primit sesizarea"
    assert "ana.pop" not in tracked.text

    # a further change: one more message; comments and public updates send none
    desk.client.post(
        f"{API}/requests/{ro}/comments",
        json={"text": "intern"},
        headers=desk.keys.operator["oradea"],
    )
    desk.client.post(
        f"{API}/requests/{ro}/updates",
        json={"note": "curând"},
        headers=desk.keys.operator["oradea"],
    )
    assert desk.store.queue_length(QUEUE) == 0
    _move(desk, ro, status="in_progress")
    _move(desk, ro, status="resolved", note="Gata")
    assert _send(desk) == 2
    subjects = [m["Subject"] for m in _messages(desk)[2:]]
    assert subjects == [
        f"[Cetate] Sesizarea nr. {ro}: în lucru",
        f"[Cetate] Sesizarea nr. {ro}: rezolvată",
    ]


def test_no_email_no_message(desk: Desk) -> None:
    anonymous = _new(desk, email="", first_name="", last_name="", phone="")
    _move(desk, anonymous, status="acknowledged")
    assert desk.store.queue_length(QUEUE) == 0


def test_a_failed_delivery_is_retried_later(
    desk: Desk, app_settings_for_down_smtp: Settings
) -> None:
    request_id = _new(desk)
    _move(desk, request_id, status="acknowledged")
    down = ReporterMailer(desk.store, app_settings_for_down_smtp, clock=desk.clock, timeout=2)
    assert asyncio.run(down.run_once()) == 1
    assert desk.smtp.recorder.envelopes == []
    assert desk.store.queue_length(QUEUE) == 1
    # not due yet: the real mailer finds nothing now, and sends it after the back-off
    assert _send(desk) == 0
    later = desk.clock.now + timedelta(seconds=31)
    assert asyncio.run(desk.runtime.mailer.run_once(now=later)) == 1
    assert [str(m["To"]) for m in _messages(desk)] == ["ana.pop@example.ro"]
    assert desk.store.queue_length(QUEUE) == 0


def test_a_refused_message_is_given_up(desk: Desk) -> None:
    request_id = _new(desk)
    desk.smtp.recorder.refuse = {"ana.pop@example.ro": "550 5.1.1 No such user"}
    _move(desk, request_id, status="acknowledged")
    assert _send(desk) == 1
    assert desk.store.queue_length(QUEUE) == 0
    assert desk.smtp.recorder.envelopes == []


def test_the_domain_registers_its_scheduler_job(desk: Desk) -> None:
    request_id = _new(desk)
    _move(desk, request_id, status="acknowledged")
    app: Any = desk.client.app
    assert EMAIL_JOB in app.state.scheduler.jobs
    assert asyncio.run(app.state.scheduler.run_due(EMAIL_JOB)) == "ran"
    assert [str(m["To"]) for m in _messages(desk)] == ["ana.pop@example.ro"]


def test_job_registration_survives_a_second_start(desk: Desk) -> None:
    app: Any = desk.client.app
    with TestClient(app):
        assert app.state.scheduler.jobs.count(EMAIL_JOB) == 1


def test_markup_in_a_note_is_escaped_in_the_html_part(desk: Desk) -> None:
    request_id = _new(desk)
    _move(desk, request_id, status="acknowledged", note="<script>alert(1)</script> & co")
    assert _send(desk) == 1
    [message] = _messages(desk)
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    content = str(html.get_content())
    assert "<script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in content
    assert "<script>alert(1)</script> & co" in _text(message)
