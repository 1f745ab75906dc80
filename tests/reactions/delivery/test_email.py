"""Email: settings, alert messages in Romanian and English, and sending to a real aiosmtpd
server on loopback."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from typing import Any

import pytest

from cetate.config import Settings
from cetate.reactions.delivery.email import (
    EmailSender,
    EmailSettings,
    alert_email,
    build_message,
    render_notice,
)
from cetate.reactions.delivery.outcome import DeliveryOutcome
from cetate.reactions.rules.alerts import build_alert, resolve
from cetate.reactions.rules.evaluator import Opened, Reading, evaluate
from cetate.reactions.rules.model import parse_rule
from tests.reactions.delivery.receivers import SmtpReceiver, closed_port, running_smtp_receiver
from tests.reactions.delivery.support import run

SENDER = "Primăria Cluj-Napoca <alerte@primariaclujnapoca.ro>"
ENTITY = "urn:ngsi-ld:WasteContainer:cluj:0001"
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
T0 = datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
RULE = parse_rule(
    {
        "id": "urn:ngsi-ld:Rule:cluj:container-full",
        "name": {"ro": "Container plin în Mănăștur", "en": "Container full in Mănăștur"},
        "severity": "high",
        "category": "environment",
        "scope": {"entityType": "WasteContainer"},
        "condition": {
            "kind": "threshold",
            "attribute": "fillingLevel",
            "operator": ">",
            "value": 0.8,
        },
    }
)
WATCHED = {
    "id": ENTITY,
    "type": ["https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer"],
    LOCATION: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [23.59, 46.77]}}],
}


def open_alert(language: str = "ro") -> dict[str, Any]:
    _, transitions = evaluate(RULE, None, Reading(ENTITY, T0, {"fillingLevel": 0.93}))
    opened = transitions[0]
    assert isinstance(opened, Opened)
    return build_alert(RULE, opened, WATCHED, language=language)  # type: ignore[arg-type]


def settings_for(server: SmtpReceiver, **changes: Any) -> EmailSettings:
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "sender": SENDER,
        "starttls": False,
    }
    values.update(changes)
    return EmailSettings(**values)


def send(settings: EmailSettings, message: EmailMessage, timeout: float = 5.0) -> DeliveryOutcome:
    return run(EmailSender(settings, timeout=timeout).send(message))


def parts(message: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            out[part.get_content_type()] = payload.decode(part.get_content_charset() or "ascii")
    return out


# -- settings --------------------------------------------------------------------------------


def test_email_is_disabled_without_a_host() -> None:
    assert EmailSettings.from_settings(Settings()) is None
    assert EmailSettings.from_settings(Settings(smtp_host="  ", smtp_from="a@b.ro")) is None


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CETATE_SMTP_HOST", "smtp.primaria.ro")
    monkeypatch.setenv("CETATE_SMTP_PORT", "465")
    monkeypatch.setenv("CETATE_SMTP_STARTTLS", "false")
    monkeypatch.setenv("CETATE_SMTP_USERNAME", "cetate")
    monkeypatch.setenv("CETATE_SMTP_PASSWORD", "parolă")
    monkeypatch.setenv("CETATE_SMTP_FROM", SENDER)
    settings = EmailSettings.from_settings(Settings())
    assert settings == EmailSettings(
        host="smtp.primaria.ro",
        sender=SENDER,
        port=465,
        starttls=False,
        username="cetate",
        password="parolă",
    )
    assert settings.implicit_tls
    assert "parolă" not in repr(settings)


def test_a_host_without_a_sender_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="CETATE_SMTP_FROM"):
        EmailSettings.from_settings(Settings(smtp_host="smtp.primaria.ro"))


def test_defaults() -> None:
    s = Settings()
    assert (s.smtp_host, s.smtp_port, s.smtp_starttls, s.smtp_from) == ("", 587, True, "")


# -- content ---------------------------------------------------------------------------------


def test_romanian_alert_content() -> None:
    content = alert_email(open_alert(), rule_name=RULE.name.model_dump(), link="https://c/x")
    assert content.language == "ro"
    assert content.subject == (
        "[Cetate] Alertă ridicată: Container plin în Mănăștur: fillingLevel > 0.8 (valoare 0.93)"
    )
    text = content.text
    for line in (
        "Gravitate: ridicată",
        "Categorie: mediu",
        "Stare: deschisă",
        f"Sursă: {ENTITY}",
        "Regulă: Container plin în Mănăștur (urn:ngsi-ld:Rule:cluj:container-full)",
        "Începută la: 14.07.2026 13:00 EEST",
        "Valoare măsurată: 0.93",
        "Prag: 0.8",
        "Locație (lat, lon): 46.770000, 23.590000",
        "Deschide în Cetate: https://c/x",
        "Acest mesaj a fost trimis automat de Cetate. Vă rugăm să nu răspundeți la el.",
    ):
        assert line in text, line
    # Romanian comma-below letters, never the Turkish cedilla ones.
    for wrong in "şţŞŢ":
        assert wrong not in text + content.html + content.subject
    assert '<html lang="ro">' in content.html
    assert '<th scope="row"' in content.html
    assert "Locație (lat, lon)" in content.html


def test_english_alert_content_and_resolution() -> None:
    alert = resolve(open_alert("en"), "ana.pop", datetime(2026, 7, 14, 11, 30, tzinfo=UTC))
    content = alert_email(alert, language="en", rule_name="Container full")
    assert content.subject.startswith("[Cetate] Alert resolved: Container full in Mănăștur")
    assert "Status: resolved" in content.text
    assert "Started: 2026-07-14 13:00 EEST" in content.text
    assert "Ended: 2026-07-14 14:30 EEST" in content.text
    assert "Severity: high" in content.text
    assert "This message was sent automatically by Cetate" in content.text


def test_html_is_escaped_text_is_not() -> None:
    alert = open_alert()
    alert["description"] = {"type": "Property", "value": "<script>alert(1)</script> & co"}
    content = alert_email(alert)
    assert "<script>" not in content.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in content.html
    assert "<script>alert(1)</script> & co" in content.text


def test_long_descriptions_are_shortened_in_the_subject() -> None:
    alert = open_alert()
    alert["description"] = {"type": "Property", "value": "ă" * 300 + "\nsecond line"}
    content = alert_email(alert)
    assert "\n" not in content.subject
    assert content.subject.endswith("…")
    assert len(content.subject) < 160


def test_mime_structure_and_encoded_headers() -> None:
    content = render_notice(
        language="ro",
        subject="Sesizarea dumneavoastră a fost rezolvată",
        title="Ștefan, sesizarea a fost rezolvată",
        rows=[("Stare", "rezolvată")],
    )
    message = build_message(
        content,
        sender=SENDER,
        to=["Ștefan Țăranu <stefan@example.ro>"],
        headers={"X-Cetate-Alert": "urn:ngsi-ld:Alert:cetate:1"},
        now=T0,
    )
    raw = message.as_bytes()
    assert raw.isascii()  # everything non-ASCII is encoded (RFC 2047 / quoted-printable)
    assert b"Subject: [Cetate] Sesizarea =?utf-8?q?dumneavoastr=C4=83" in raw
    assert b"Date: Tue, 14 Jul 2026 10:00:00 +0000" in raw
    assert b"Auto-Submitted: auto-generated" in raw
    assert b"Content-Language: ro" in raw
    assert re.search(rb"Message-ID: <[^>]+@primariaclujnapoca\.ro>", raw)
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert parsed["Subject"] == "[Cetate] Sesizarea dumneavoastră a fost rezolvată"
    assert parsed["From"] == SENDER
    assert parsed["To"] == "Ștefan Țăranu <stefan@example.ro>"
    assert parsed.get_content_type() == "multipart/alternative"
    texts = parts(parsed)
    assert set(texts) == {"text/plain", "text/html"}
    assert "Ștefan, sesizarea a fost rezolvată" in texts["text/plain"]
    assert "Ștefan, sesizarea a fost rezolvată" in texts["text/html"]


def test_header_injection_is_refused() -> None:
    content = render_notice(language="en", subject="x", title="x")
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        build_message(content, sender=SENDER, to=["a@b.ro\r\nBcc: evil@x.ro"]).as_bytes()
    with pytest.raises(ValueError, match="recipient"):
        build_message(content, sender=SENDER, to=[])


# -- sending ---------------------------------------------------------------------------------


def test_alert_email_delivered(smtp: SmtpReceiver) -> None:
    settings = settings_for(smtp)
    sender = EmailSender(settings)
    content = alert_email(open_alert(), rule_name=RULE.name.model_dump())
    message = sender.compose(content, ["dispecerat@primariaclujnapoca.ro", "ana@example.ro"])
    outcome = run(sender.send(message))
    assert (outcome.kind, outcome.reason, outcome.status_code) == ("ok", "delivered", 250)
    assert outcome.detail == ""
    (envelope,) = smtp.recorder.envelopes
    assert envelope.mail_from == "alerte@primariaclujnapoca.ro"
    assert envelope.rcpt_tos == ["dispecerat@primariaclujnapoca.ro", "ana@example.ro"]
    assert isinstance(envelope.content, bytes)
    received = email.message_from_bytes(envelope.content, policy=default_policy)
    assert received["Subject"] == content.subject
    assert "Alertă ridicată" in received["Subject"]
    assert received["From"] == SENDER
    assert received["Content-Language"] == "ro"
    texts = parts(received)
    assert "Gravitate: ridicată" in texts["text/plain"]
    assert "Container plin în Mănăștur" in texts["text/plain"]
    assert '<td style="padding:4px 0">ridicată</td>' in texts["text/html"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_login() -> None:
    with running_smtp_receiver(credentials=("cetate", "parolă-bună")) as server:
        message = build_message(
            render_notice(language="ro", subject="Test", title="Test"), sender=SENDER, to=["a@b.ro"]
        )
        good = send(settings_for(server, username="cetate", password="parolă-bună"), message)
        assert good.ok, good
        bad = send(settings_for(server, username="cetate", password="greșită"), message)
        assert (bad.kind, bad.reason, bad.status_code) == ("permanent", "auth_refused", 535)
        assert "greșită" not in bad.detail
        anonymous = send(settings_for(server), message)  # AUTH required, none given
        assert (anonymous.kind, anonymous.status_code) == ("permanent", 530)
        assert server.logins == [("cetate", "parolă-bună"), ("cetate", "greșită")]
        assert len(server.recorder.envelopes) == 1


def simple_message(to: list[str] | None = None) -> EmailMessage:
    return build_message(
        render_notice(language="en", subject="Test", title="Test"),
        sender=SENDER,
        to=to or ["a@b.ro"],
    )


def test_starttls_required_but_not_offered(smtp: SmtpReceiver) -> None:
    outcome = send(settings_for(smtp, starttls=True), simple_message())
    assert (outcome.kind, outcome.reason) == ("permanent", "not_supported")
    assert smtp.recorder.envelopes == []


@pytest.mark.parametrize(
    ("reply", "kind", "code"),
    [
        ("451 4.3.0 Try again later", "retryable", 451),
        ("452 4.3.1 Insufficient system storage", "retryable", 452),
        ("554 5.7.1 Message rejected as spam", "permanent", 554),
    ],
)
def test_data_refused(smtp: SmtpReceiver, reply: str, kind: str, code: int) -> None:
    smtp.recorder.data_reply = reply
    outcome = send(settings_for(smtp), simple_message())
    assert (outcome.kind, outcome.reason, outcome.status_code) == (kind, "smtp_status", code)
    assert reply[4:] in outcome.detail


@pytest.mark.parametrize(
    ("reply", "kind"),
    [("550 5.1.1 No such user", "permanent"), ("450 4.2.1 Mailbox busy", "retryable")],
)
def test_every_recipient_refused(smtp: SmtpReceiver, reply: str, kind: str) -> None:
    smtp.recorder.refuse = {"a@b.ro": reply}
    outcome = send(settings_for(smtp), simple_message())
    assert (outcome.kind, outcome.reason, outcome.status_code) == (
        kind,
        "recipients_refused",
        int(reply[:3]),
    )
    assert "a@b.ro" in outcome.detail


def test_some_recipients_refused_is_still_delivered(smtp: SmtpReceiver) -> None:
    smtp.recorder.refuse = {"gone@b.ro": "550 5.1.1 No such user"}
    outcome = send(settings_for(smtp), simple_message(["gone@b.ro", "here@b.ro"]))
    assert outcome.ok
    assert "gone@b.ro: 550" in outcome.detail
    (envelope,) = smtp.recorder.envelopes
    assert envelope.rcpt_tos == ["here@b.ro"]


def test_connection_refused() -> None:
    settings = EmailSettings(host="127.0.0.1", port=closed_port(), sender=SENDER, starttls=False)
    outcome = send(settings, simple_message())
    assert (outcome.kind, outcome.reason, outcome.status_code) == (
        "retryable",
        "connection_refused",
        None,
    )


def test_silent_server_times_out(silent_port: int) -> None:
    settings = EmailSettings(host="127.0.0.1", port=silent_port, sender=SENDER, starttls=False)
    outcome = send(settings, simple_message(), timeout=0.3)
    assert (outcome.kind, outcome.reason) == ("retryable", "timeout")
    assert outcome.duration < 5
