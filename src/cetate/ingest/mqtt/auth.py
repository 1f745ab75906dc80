"""Who a device is: the authenticator interface the MQTT broker asks on every connection.

A device logs in with the username ``<tenant>/<device>`` and its own password. A
:class:`DeviceAuthenticator` checks the pair and answers with the device's identity or
``None``. The built-in broker asks it on every CONNECT; the store-backed authenticator comes
with the device registry. :class:`StaticDeviceAuthenticator` holds a fixed mapping (tests,
trying things out).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from cetate.ingest.mqtt.topics import TopicError, device_username, parse_username


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """An authenticated device."""

    tenant: str
    device: str

    @property
    def username(self) -> str:
        """The MQTT username ``<tenant>/<device>``."""
        return f"{self.tenant}/{self.device}"


class DeviceAuthenticator(Protocol):
    """Checks a device's MQTT credentials."""

    async def authenticate(self, username: str, password: str) -> DeviceIdentity | None:
        """The device's identity when ``password`` is the current credential of the device
        named by ``username`` (``<tenant>/<device>``); ``None`` otherwise (unknown device,
        revoked or wrong credential, malformed username). Must not raise for bad input."""
        ...


class StaticDeviceAuthenticator:
    """Devices and passwords from a fixed mapping ``{"<tenant>/<device>": password}``.

    Passwords are kept as given, in memory: for tests and local trials, not for production
    (the device registry keeps only hashes)."""

    def __init__(self, passwords: Mapping[str, str]) -> None:
        checked: dict[str, str] = {}
        for username, password in passwords.items():
            tenant, device = parse_username(username)
            if not password:
                raise ValueError(f"device {username!r} has an empty password")
            checked[device_username(tenant, device)] = password
        self._passwords = checked

    async def authenticate(self, username: str, password: str) -> DeviceIdentity | None:
        try:
            tenant, device = parse_username(username)
        except TopicError:
            return None
        expected = self._passwords.get(username)
        # Compare against something even for unknown devices, so timing does not reveal
        # which devices exist.
        ok = hmac.compare_digest(
            (expected or "\x00unknown").encode(), password.encode("utf-8", "surrogatepass")
        )
        if expected is None or not ok:
            return None
        return DeviceIdentity(tenant, device)
