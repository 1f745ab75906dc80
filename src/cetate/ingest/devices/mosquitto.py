"""Mosquitto's password-file format, so a deployment that runs Mosquitto with a generated
``password_file`` can be kept in sync from the registry without ever storing a password.

Mosquitto 2 writes ``<username>:$7$<iterations>$<base64 salt>$<base64 hash>``: PBKDF2-HMAC-
SHA512 with a 12-byte random salt and 101 iterations (what ``mosquitto_passwd`` makes). The
hash is made once, when the password is issued, and kept in
:attr:`DeviceCredentialRecord.mosquitto_password_hash
<cetate.ingest.devices.credentials.DeviceCredentialRecord.mosquitto_password_hash>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from cetate.ingest.devices.credentials import DeviceCredentialRecord

MOSQUITTO_ITERATIONS: Final = 101
MOSQUITTO_SALT_BYTES: Final = 12


def mosquitto_password_hash(
    password: str, *, salt: bytes | None = None, iterations: int = MOSQUITTO_ITERATIONS
) -> str:
    """``$7$<iterations>$<salt>$<hash>`` as in a Mosquitto password file."""
    salt = salt if salt is not None else os.urandom(MOSQUITTO_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return (
        f"$7${iterations}${base64.b64encode(salt).decode('ascii')}$"
        f"{base64.b64encode(digest).decode('ascii')}"
    )


def verify_mosquitto_hash(stored: str, password: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash (ours or ``mosquitto_passwd``'s)."""
    parts = stored.split("$")
    if len(parts) != 5 or parts[1] != "7" or not parts[2].isdigit():
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, int(parts[2]))
    return hmac.compare_digest(digest, expected)


def mosquitto_password_file(records: Iterable[DeviceCredentialRecord]) -> str:
    """The text of a Mosquitto ``password_file`` with one line per device that may use MQTT
    and is not revoked (write it with mode 0600, then send Mosquitto SIGHUP to reload)."""
    lines = [
        f"{record.mqtt_username}:{record.mosquitto_password_hash}\n"
        for record in sorted(records, key=lambda r: (r.tenant, r.device))
        if not record.revoked and record.mosquitto_password_hash is not None
    ]
    return "".join(lines)
