"""The MQTT topic scheme and who may use which topic.

Every device has three topics under its tenant (municipality)::

    cetate/<tenant>/<device>/attrs    measurements, device → Cetate
    cetate/<tenant>/<device>/cmd      commands, Cetate → device
    cetate/<tenant>/<device>/cmdexe   command results, device → Cetate

A device logs in to the broker with the username ``<tenant>/<device>``. It may publish only to
its own ``attrs`` and ``cmdexe`` and subscribe only to its own ``cmd`` (no wildcards): one
device can never speak for another or read another's commands. The rules are pure functions
here, so the built-in broker's plug-in, a generated Mosquitto ACL file and the tests use the
same ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from cetate.auth.users import TENANT_RE
from cetate.errors import BadRequestData

PREFIX: Final = "cetate"

DEVICE_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
"""Device ids: 1-128 ASCII letters, digits, ``_``, ``.`` or ``-``, starting with a letter or
digit. Nothing that is special in MQTT topics (``/``, ``+``, ``#``, ``$``) or in a Mosquitto
ACL pattern (``%``), no spaces."""


class TopicError(BadRequestData):
    """A topic, tenant or device id that does not follow the scheme. The detail says which
    part is wrong and what is allowed."""

    title = "Bad MQTT topic or device id"


class Channel(StrEnum):
    """The last level of a device topic."""

    attrs = "attrs"
    """Measurements, published by the device."""
    cmd = "cmd"
    """Commands, published by Cetate, subscribed to by the device."""
    cmdexe = "cmdexe"
    """Command results, published by the device."""


ATTRS_FILTER: Final = f"{PREFIX}/+/+/{Channel.attrs}"
"""The subscription that receives every device's measurements."""
CMDEXE_FILTER: Final = f"{PREFIX}/+/+/{Channel.cmdexe}"
"""The subscription that receives every device's command results."""


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    """A parsed device topic."""

    tenant: str
    device: str
    channel: Channel

    def __str__(self) -> str:
        return f"{PREFIX}/{self.tenant}/{self.device}/{self.channel}"

    @property
    def username(self) -> str:
        """The MQTT username of the device this topic belongs to."""
        return f"{self.tenant}/{self.device}"


def check_tenant(tenant: str) -> str:
    """``tenant`` unchanged, or :class:`TopicError`."""
    if not TENANT_RE.fullmatch(tenant):
        raise TopicError(
            f"invalid tenant {tenant!r}: use 1-63 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return tenant


def check_device(device: str) -> str:
    """``device`` unchanged, or :class:`TopicError`."""
    if not DEVICE_RE.fullmatch(device):
        raise TopicError(
            f"invalid device id {device!r}: use 1-128 ASCII letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return device


def format_topic(tenant: str, device: str, channel: Channel | str) -> str:
    """``cetate/<tenant>/<device>/<channel>`` after checking every part."""
    return str(DeviceTopic(check_tenant(tenant), check_device(device), _channel(channel)))


def parse_topic(topic: str) -> DeviceTopic:
    """The tenant, device and channel of a device topic, or :class:`TopicError` saying what is
    wrong with it."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != PREFIX:
        raise TopicError(
            f"invalid topic {topic!r}: expected {PREFIX}/<tenant>/<device>/<channel> "
            f"with channel one of {', '.join(c.value for c in Channel)}"
        )
    _, tenant, device, channel = parts
    return DeviceTopic(check_tenant(tenant), check_device(device), _channel(channel))


def parse_username(username: str) -> tuple[str, str]:
    """``(tenant, device)`` from a device's MQTT username ``<tenant>/<device>``, or
    :class:`TopicError`."""
    tenant, sep, device = username.partition("/")
    if not sep:
        raise TopicError(
            f"invalid device username {username!r}: expected <tenant>/<device>, e.g. cluj/bin-0042"
        )
    return check_tenant(tenant), check_device(device)


def device_username(tenant: str, device: str) -> str:
    """The MQTT username of a device: ``<tenant>/<device>``."""
    return f"{check_tenant(tenant)}/{check_device(device)}"


def may_publish(username: str | None, topic: str) -> bool:
    """Whether the device logged in as ``username`` may publish to ``topic``: only to its own
    ``attrs`` and ``cmdexe``. Anything unparsable is refused."""
    return _own_topic(username, topic, (Channel.attrs, Channel.cmdexe))


def may_subscribe(username: str | None, topic_filter: str) -> bool:
    """Whether the device logged in as ``username`` may subscribe to ``topic_filter`` (or
    receive a message on that topic): only its own ``cmd`` topic, literally, no wildcards."""
    return _own_topic(username, topic_filter, (Channel.cmd,))


def _own_topic(username: str | None, topic: str, channels: tuple[Channel, ...]) -> bool:
    if not username:
        return False
    try:
        tenant, device = parse_username(username)
        parsed = parse_topic(topic)
    except TopicError:
        return False
    return parsed.tenant == tenant and parsed.device == device and parsed.channel in channels


def _channel(channel: Channel | str) -> Channel:
    try:
        return Channel(channel)
    except ValueError:
        raise TopicError(
            f"invalid channel {channel!r}: use one of {', '.join(c.value for c in Channel)}"
        ) from None


def mosquitto_acl(service_username: str) -> str:
    """The same rules as an ACL file for Mosquitto (``acl_file``): every device
    (username ``<tenant>/<device>``) writes its own ``attrs`` and ``cmdexe`` and reads its own
    ``cmd``; Cetate's service user reads and writes every device topic."""
    if not service_username or "/" in service_username or "%" in service_username:
        raise ValueError(f"invalid service username {service_username!r}")
    return (
        "# Generated by Cetate (cetate.ingest.mqtt.topics.mosquitto_acl).\n"
        f"user {service_username}\n"
        f"topic readwrite {PREFIX}/#\n"
        "\n"
        f"pattern write {PREFIX}/%u/{Channel.attrs}\n"
        f"pattern write {PREFIX}/%u/{Channel.cmdexe}\n"
        f"pattern read {PREFIX}/%u/{Channel.cmd}\n"
    )
