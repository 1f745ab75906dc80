"""Email notifications over SMTP: messages in Romanian and English, and one sending attempt.

Building (pure):

* :func:`render_notice` — an :class:`EmailContent` (subject, plain text, HTML) from the one
  template of this package (``templates/notice.txt`` / ``notice.html``): a title, an
  introduction, rows of label/value, a link and a footer, in ``ro`` or ``en``. Alert emails
  use it; so will the citizens' status updates.
* :func:`alert_email` — the content for an Alert entity in the normalized form of
  :func:`cetate.reactions.rules.alerts.build_alert` (concise works too).
* :func:`build_message` — the MIME message: ``multipart/alternative`` with a UTF-8
  ``text/plain`` part and a ``text/html`` part (quoted-printable), the subject and display
  names encoded per RFC 2047, ``Date``, ``Message-ID``, ``Content-Language`` and
  ``Auto-Submitted: auto-generated`` (RFC 3834, so that vacation responders stay quiet).

Sending: :class:`EmailSender` runs the standard library's :mod:`smtplib` in a worker thread
(no extra dependency; one message per attempt, one SMTP connection per attempt). Settings come
from ``CETATE_SMTP_*`` (:meth:`EmailSettings.from_settings`; an empty ``smtp_host`` disables
email). Port 465 is TLS from the first byte; otherwise ``smtp_starttls`` requires STARTTLS.

=========================================  ==========  ========================
what happened                              kind        reason
=========================================  ==========  ========================
accepted (some recipients may be refused;  ok          ``delivered``
they are named in ``detail``)
server not listening                       retryable   ``connection_refused``
DNS, TLS or socket failure                 retryable   ``connect_error``
no answer in time                          retryable   ``timeout``
connection dropped                         retryable   ``network_error``
a 4xx reply (greeting, MAIL, RCPT, DATA)   retryable   ``smtp_status``
a 5xx reply                                permanent   ``smtp_status``
every recipient refused                    by code     ``recipients_refused``
login refused                              permanent   ``auth_refused``
STARTTLS or AUTH not offered               permanent   ``not_supported``
=========================================  ==========  ========================
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import smtplib
import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from cetate.config import Settings
from cetate.errors import CetateError
from cetate.ngsi.timestamps import parse_datetime
from cetate.reactions.delivery.outcome import DeliveryOutcome

Language = Literal["ro", "en"]
DEFAULT_TIMEOUT: Final = 30.0
"""Seconds for each SMTP network operation."""
DEFAULT_TIME_ZONE: Final = "Europe/Bucharest"
SUBJECT_PREFIX: Final = "[Cetate]"
_MAX_SUBJECT_TEXT: Final = 120


# -- settings --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """How to reach the SMTP server, and the sender of every message."""

    host: str
    sender: str
    port: int = 587
    starttls: bool = True
    username: str = ""
    password: str = dataclasses.field(default="", repr=False)

    @property
    def implicit_tls(self) -> bool:
        """Port 465 (SMTPS): TLS from the first byte, no STARTTLS."""
        return self.port == 465

    @classmethod
    def from_settings(cls, settings: Settings) -> EmailSettings | None:
        """The email settings, or ``None`` when email is disabled (``smtp_host`` empty).
        A host without a sender (``smtp_from``) is a configuration error (ValueError)."""
        if not settings.smtp_host.strip():
            return None
        if not settings.smtp_from.strip():
            raise ValueError(
                "CETATE_SMTP_FROM must be set when CETATE_SMTP_HOST is, e.g. "
                "'Cetate <alerte@primaria.ro>'"
            )
        return cls(
            host=settings.smtp_host.strip(),
            sender=settings.smtp_from.strip(),
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )


# -- content ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailContent:
    """What an email says: the subject, a plain-text body and its HTML alternative."""

    subject: str
    text: str
    html: str
    language: Language = "ro"


_FOOTER: Final[Mapping[Language, str]] = {
    "ro": "Acest mesaj a fost trimis automat de Cetate. Vă rugăm să nu răspundeți la el.",
    "en": "This message was sent automatically by Cetate. Please do not reply to it.",
}
_LINK_LABEL: Final[Mapping[Language, str]] = {"ro": "Deschide în Cetate", "en": "Open in Cetate"}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("cetate.reactions.delivery", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_notice(
    *,
    language: Language,
    subject: str,
    title: str,
    intro: str = "",
    rows: Sequence[tuple[str, str]] = (),
    link: str | None = None,
    link_label: str | None = None,
) -> EmailContent:
    """An email in ``language`` from the notice template. ``subject`` gets the
    ``[Cetate]`` prefix; values are escaped in the HTML part."""
    if language not in _FOOTER:
        raise ValueError(f"language must be 'ro' or 'en', not {language!r}")
    context: dict[str, Any] = {
        "language": language,
        "title": title,
        "intro": intro,
        "rows": list(rows),
        "link": link,
        "link_label": link_label or _LINK_LABEL[language],
        "footer": _FOOTER[language],
    }
    env = _environment()
    return EmailContent(
        subject=f"{SUBJECT_PREFIX} {_one_line(subject)}",
        text=env.get_template("notice.txt").render(context),
        html=env.get_template("notice.html").render(context),
        language=language,
    )


# -- alerts ----------------------------------------------------------------------------------

_SEVERITY: Final[Mapping[Language, Mapping[str, str]]] = {
    "ro": {
        "informational": "informativă",
        "low": "scăzută",
        "medium": "medie",
        "high": "ridicată",
        "critical": "critică",
    },
    "en": {
        "informational": "informational",
        "low": "low",
        "medium": "medium",
        "high": "high",
        "critical": "critical",
    },
}
_CATEGORY: Final[Mapping[Language, Mapping[str, str]]] = {
    "ro": {
        "traffic": "trafic",
        "naturalDisaster": "dezastru natural",
        "weather": "vreme",
        "environment": "mediu",
        "health": "sănătate",
        "security": "securitate",
        "agriculture": "agricultură",
    },
    "en": {
        "traffic": "traffic",
        "naturalDisaster": "natural disaster",
        "weather": "weather",
        "environment": "environment",
        "health": "health",
        "security": "security",
        "agriculture": "agriculture",
    },
}
_STATUS: Final[Mapping[Language, Mapping[str, str]]] = {
    "ro": {"open": "deschisă", "acknowledged": "confirmată", "resolved": "rezolvată"},
    "en": {"open": "open", "acknowledged": "acknowledged", "resolved": "resolved"},
}
_ALERT_LABELS: Final[Mapping[Language, Mapping[str, str]]] = {
    "ro": {
        "alert": "Alertă",
        "title": "Alertă {severity}",
        "title_resolved": "Alertă rezolvată",
        "title_acknowledged": "Alertă confirmată",
        "severity": "Gravitate",
        "category": "Categorie",
        "status": "Stare",
        "source": "Sursă",
        "rule": "Regulă",
        "since": "Începută la",
        "until": "Încheiată la",
        "measured": "Valoare măsurată",
        "threshold": "Prag",
        "location": "Locație (lat, lon)",
        "id": "Identificator",
    },
    "en": {
        "alert": "Alert",
        "title": "Alert, {severity} severity",
        "title_resolved": "Alert resolved",
        "title_acknowledged": "Alert acknowledged",
        "severity": "Severity",
        "category": "Category",
        "status": "Status",
        "source": "Source",
        "rule": "Rule",
        "since": "Started",
        "until": "Ended",
        "measured": "Measured value",
        "threshold": "Threshold",
        "location": "Location (lat, lon)",
        "id": "Identifier",
    },
}


def _attr(alert: Mapping[str, Any], name: str) -> Any:
    """The value (or object) of an attribute in normalized or concise form."""
    attribute = alert.get(name)
    if isinstance(attribute, Mapping):
        if "value" in attribute:
            value = attribute["value"]
        elif "object" in attribute:
            value = attribute["object"]
        else:
            return attribute
        if isinstance(value, Mapping) and "@value" in value:
            return value["@value"]
        return value
    return attribute


def _local_time(value: Any, language: Language, time_zone: str) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        moment = parse_datetime(value)
    except (CetateError, ValueError):
        return value
    try:
        zone: ZoneInfo | Any = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = moment.astimezone(zone)
    if language == "ro":
        return local.strftime("%d.%m.%Y %H:%M ") + (local.tzname() or "")
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return f"{value:g}"


def _point(geometry: Any) -> str | None:
    if not isinstance(geometry, Mapping) or geometry.get("type") != "Point":
        return None
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, Sequence) or len(coordinates) < 2:
        return None
    lon, lat = coordinates[0], coordinates[1]
    if _number(lon) is None or _number(lat) is None:
        return None
    return f"{lat:.6f}, {lon:.6f}"


def alert_email(
    alert: Mapping[str, Any],
    *,
    language: Language = "ro",
    rule_name: Mapping[str, str] | str | None = None,
    link: str | None = None,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> EmailContent:
    """The email about an Alert entity (normalized or concise, as built by
    :func:`~cetate.reactions.rules.alerts.build_alert` and changed by the lifecycle
    functions). The subject says the status and severity and carries the description;
    the body lists severity, category, status, source entity, rule, start (and end),
    measured and threshold values and location, in ``language``, times in ``time_zone``.

    ``rule_name`` (the rule's ``{"ro": …, "en": …}`` or a string) is shown next to the rule
    id; ``link`` is where the operator opens the alert in the console."""
    labels = _ALERT_LABELS[language]
    severity = str(_attr(alert, "severity") or "medium")
    status = str(_attr(alert, "status") or "open")
    category = _attr(alert, "category")
    description = _one_line(str(_attr(alert, "description") or ""))
    severity_text = _SEVERITY[language].get(severity, severity)
    if status == "resolved":
        title = labels["title_resolved"]
    elif status == "acknowledged":
        title = labels["title_acknowledged"]
    else:
        title = labels["title"].format(severity=severity_text)
    short = description
    if len(short) > _MAX_SUBJECT_TEXT:
        short = short[: _MAX_SUBJECT_TEXT - 1].rstrip() + "…"
    subject = f"{title}: {short}" if short else title

    rows: list[tuple[str, str]] = [(labels["severity"], severity_text)]
    if isinstance(category, str):
        category_text = _CATEGORY[language].get(category, category)
        sub_category = _attr(alert, "subCategory")
        if isinstance(sub_category, str) and sub_category:
            category_text = f"{category_text} / {sub_category}"
        rows.append((labels["category"], category_text))
    rows.append((labels["status"], _STATUS[language].get(status, status)))
    source = _attr(alert, "alertSource")
    if isinstance(source, str):
        rows.append((labels["source"], source))
    rule = _attr(alert, "rule")
    if isinstance(rule, str):
        name = rule_name.get(language) if isinstance(rule_name, Mapping) else rule_name
        rows.append((labels["rule"], f"{name} ({rule})" if name else rule))
    since = _local_time(
        _attr(alert, "validFrom") or _attr(alert, "dateIssued"), language, time_zone
    )
    if since:
        rows.append((labels["since"], since))
    until = _local_time(_attr(alert, "validTo"), language, time_zone)
    if until:
        rows.append((labels["until"], until))
    measured = _number(_attr(alert, "measuredValue"))
    if measured is not None:
        rows.append((labels["measured"], measured))
    threshold = _number(_attr(alert, "thresholdValue"))
    if threshold is not None:
        rows.append((labels["threshold"], threshold))
    point = _point(_attr(alert, "location"))
    if point is not None:
        rows.append((labels["location"], point))
    if isinstance(alert.get("id"), str):
        rows.append((labels["id"], str(alert["id"])))
    return render_notice(
        language=language, subject=subject, title=title, intro=description, rows=rows, link=link
    )


# -- MIME ------------------------------------------------------------------------------------


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2]
    return domain or "cetate.invalid"


def build_message(
    content: EmailContent,
    *,
    sender: str,
    to: Iterable[str | Address],
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """The MIME message of ``content`` from ``sender`` to ``to`` (addresses, optionally with
    display names: ``Ana Pop <ana@example.ro>``). ``headers`` are extra headers
    (``X-Cetate-Alert`` …). Addresses or headers with line breaks are a ValueError."""
    recipients = [str(address) for address in to]
    if not recipients:
        raise ValueError("an email needs at least one recipient")
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = content.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(content.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(content.html, subtype="html", charset="utf-8", cte="quoted-printable")
    # After the parts: set_content drops every Content-* header set before it.
    message["Content-Language"] = content.language
    return message


# -- sending ---------------------------------------------------------------------------------


def _reply(code: int, raw: bytes | str) -> str:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    return f"{code} {_one_line(text)}"[:300]


def _by_code(code: int, reason: str, detail: str) -> DeliveryOutcome:
    kind: Literal["retryable", "permanent"] = "retryable" if 400 <= code < 500 else "permanent"
    return DeliveryOutcome(kind, reason, detail, code)


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """``smtp.login``, except that credentials outside ASCII (``parolă``) are sent with
    AUTH PLAIN in UTF-8 (RFC 4616), which smtplib cannot do."""
    if username.isascii() and password.isascii():
        smtp.login(username, password)
        return
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    if "PLAIN" not in smtp.esmtp_features["auth"].upper().split():
        raise smtplib.SMTPNotSupportedError(
            "the server does not offer AUTH PLAIN, needed for a user name or password outside ASCII"
        )
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, reply)


class EmailSender:
    """Sends one message per call through the configured SMTP server (smtplib in a thread).

    ``tls_context`` verifies the server for STARTTLS and port 465 (default: the system's
    trust store, host names checked)."""

    def __init__(
        self,
        settings: EmailSettings,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._timeout = timeout
        self._tls_context = tls_context

    def compose(
        self,
        content: EmailContent,
        to: Iterable[str | Address],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> EmailMessage:
        """:func:`build_message` from the configured sender."""
        return build_message(content, sender=self.settings.sender, to=to, headers=headers)

    async def send(self, message: EmailMessage) -> DeliveryOutcome:
        """One attempt to hand ``message`` to the SMTP server (never raises for network or
        server failures)."""
        started = time.monotonic()
        outcome = await asyncio.to_thread(self._send_blocking, message)
        return dataclasses.replace(outcome, duration=time.monotonic() - started)

    def _context(self) -> ssl.SSLContext:
        return self._tls_context or ssl.create_default_context()

    def _send_blocking(self, message: EmailMessage) -> DeliveryOutcome:
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            smtp: smtplib.SMTP
            if s.implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=self._timeout, context=self._context()
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=self._timeout)
            with smtp:
                smtp.ehlo()
                if s.starttls and not s.implicit_tls:
                    if not smtp.has_extn("starttls"):
                        return DeliveryOutcome(
                            "permanent",
                            "not_supported",
                            f"{where} does not offer STARTTLS; set CETATE_SMTP_STARTTLS=false "
                            "only on a trusted network",
                        )
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if s.username:
                    _login(smtp, s.username, s.password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            listed = "; ".join(f"{rcpt}: {_reply(c, m)}" for rcpt, (c, m) in exc.recipients.items())
            code = min(codes) if any(400 <= c < 500 for c in codes) else max(codes, default=550)
            return _by_code(code, "recipients_refused", f"every recipient refused: {listed}")
        except smtplib.SMTPAuthenticationError as exc:
            return DeliveryOutcome(
                "permanent",
                "auth_refused",
                f"{where} refused the login: {_reply(exc.smtp_code, exc.smtp_error)}",
                exc.smtp_code,
            )
        except smtplib.SMTPNotSupportedError as exc:
            return DeliveryOutcome("permanent", "not_supported", f"{where}: {exc}")
        except smtplib.SMTPResponseException as exc:
            return _by_code(
                exc.smtp_code, "smtp_status", f"{where}: {_reply(exc.smtp_code, exc.smtp_error)}"
            )
        except smtplib.SMTPServerDisconnected as exc:
            if isinstance(exc.__context__, TimeoutError) or "timed out" in str(exc):
                return DeliveryOutcome("retryable", "timeout", f"{where}: {exc}")
            return DeliveryOutcome("retryable", "network_error", f"{where} disconnected: {exc}")
        except smtplib.SMTPException as exc:
            return DeliveryOutcome("retryable", "smtp_error", f"{where}: {exc}")
        except TimeoutError as exc:
            return DeliveryOutcome("retryable", "timeout", f"{where}: {exc or 'timed out'}")
        except ConnectionRefusedError as exc:
            return DeliveryOutcome(
                "retryable", "connection_refused", f"cannot connect to {where}: {exc}"
            )
        except OSError as exc:  # DNS, TLS, resets
            return DeliveryOutcome("retryable", "connect_error", f"{where}: {exc}")
        detail = ""
        if refused:
            detail = "refused: " + "; ".join(
                f"{rcpt}: {_reply(c, m)}" for rcpt, (c, m) in refused.items()
            )
        return DeliveryOutcome.success(status_code=250, detail=detail)
