"""Keep a Mosquitto ``password_file`` and ``acl_file`` in sync with the device registry.

:class:`MosquittoSync` writes, for every tenant,

* the **password file**: Cetate's service user, then one line per device that may use MQTT and
  is not revoked (:func:`~cetate.ingest.devices.mosquitto.mosquitto_password_file`; only the
  ``$7$`` hashes kept in the credential records, never a password);
* the **ACL file**: :func:`~cetate.ingest.mqtt.topics.mosquitto_acl` — the service user reads
  and writes ``cetate/#``, every device writes its own ``attrs``/``cmdexe`` and reads its own
  ``cmd``.

Each file is written atomically (a temporary file in the same directory, mode 0600, fsync,
then ``rename`` over the old one), so Mosquitto never reads half a file. When the process runs
as root the new file gets the owner and group of the file it replaces (for the first write:
of its directory), so a Mosquitto that dropped its privileges can still read it. Then the
process whose id is in Mosquitto's ``pid_file`` gets SIGHUP and reloads both files.

Files are rewritten only when the store's ``device-credentials`` generation changed since the
last write of this object (every issue, rotation, revocation and deletion increases it), so
the periodic job (``devices.mosquitto-sync`` in :mod:`cetate.api.app`) costs one small query
when nothing changed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from cetate.config import Settings
from cetate.ingest.devices.credentials import DeviceCredentialRecord
from cetate.ingest.devices.mosquitto import mosquitto_password_file, mosquitto_password_hash
from cetate.ingest.devices.store_registry import CREDENTIALS_KIND, StoreDeviceRegistry
from cetate.ingest.mqtt.topics import mosquitto_acl
from cetate.store.base import ContextStore

logger = logging.getLogger(__name__)

FILE_MODE: Final = 0o600


class MosquittoSyncError(Exception):
    """The sync is misconfigured (no service password, a bad service username)."""


@dataclass(frozen=True, slots=True)
class MosquittoFiles:
    """Where the generated files go, and Mosquitto's pid file (None: send no signal)."""

    password_file: Path
    acl_file: Path
    pid_file: Path | None = None


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one :meth:`MosquittoSync.sync` call did."""

    written: bool
    """whether the files were written (False: the generation had not changed)"""
    generation: int
    """the credentials generation the files reflect"""
    devices: int = 0
    """device lines in the password file (0 when not written)"""
    signalled: bool = False
    """whether Mosquitto was sent SIGHUP"""
    signal_error: str | None = None
    """why it could not be signalled (no pid file, no such process, not permitted)"""


def write_atomically(path: Path, text: str, *, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``text`` at once: a temporary file in the same directory with
    ``mode``, flushed to disk, renamed over ``path``. As root, the owner and group of the
    replaced file (or of the directory) are kept."""
    directory = path.parent
    owner = _owner_to_keep(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), mode)
            if owner is not None:
                os.fchown(handle.fileno(), *owner)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _owner_to_keep(path: Path) -> tuple[int, int] | None:
    """(uid, gid) for the new file when running as root: the old file's, else the
    directory's. None when not root (the file belongs to whoever writes it)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    for candidate in (path, path.parent):
        try:
            info = candidate.stat()
        except OSError:
            continue
        return info.st_uid, info.st_gid
    return None


def signal_reload(pid_file: Path) -> str | None:
    """Send SIGHUP to the process whose id is in ``pid_file``; None when sent, else why
    not."""
    try:
        text = pid_file.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read Mosquitto's pid file {pid_file}: {exc}"
    if not text.isdigit() or int(text) <= 1:
        return f"Mosquitto's pid file {pid_file} does not hold a process id ({text[:20]!r})"
    try:
        os.kill(int(text), signal.SIGHUP)
    except ProcessLookupError:
        return f"no process {text} (from {pid_file}): is Mosquitto running?"
    except PermissionError:
        return (
            f"not permitted to signal process {text} (from {pid_file}): run Cetate as "
            "Mosquitto's user or root, or reload Mosquitto otherwise"
        )
    return None


class MosquittoSync:
    """Writes the password and ACL files for all tenants when the credentials changed, then
    signals Mosquitto. Thread-safe; one object remembers the generation it last wrote."""

    def __init__(
        self,
        store: ContextStore,
        files: MosquittoFiles,
        *,
        service_username: str,
        service_password: str,
    ) -> None:
        if not service_password:
            raise MosquittoSyncError(
                "the Mosquitto sync needs the service user's password: set "
                "CETATE_MOSQUITTO_SERVICE_PASSWORD or put it in CETATE_MQTT_EXTERNAL_URL"
            )
        if not service_username or any(c in service_username for c in "/%:\n\r #+"):
            raise MosquittoSyncError(
                f"invalid service username {service_username!r}: no '/', '%', ':', '#', '+', "
                "spaces or line breaks"
            )
        self.store = store
        self.files = files
        self.registry = StoreDeviceRegistry(store)
        self.service_username = service_username
        self._service_line = f"{service_username}:{mosquitto_password_hash(service_password)}\n"
        self._acl = mosquitto_acl(service_username)
        self._lock = threading.Lock()
        self._last_generation: int | None = None
        self.writes = 0
        """how many times the files were written"""

    def records(self) -> list[DeviceCredentialRecord]:
        """Every tenant's credential records, revoked ones included."""
        found: list[DeviceCredentialRecord] = []
        for tenant in self.store.list_tenants():
            found.extend(self.registry.list_credentials(tenant.name))
        return found

    def password_file_text(self, records: list[DeviceCredentialRecord]) -> str:
        """The service user's line, then the devices' (revoked ones left out)."""
        return self._service_line + mosquitto_password_file(records)

    def sync(self, *, force: bool = False) -> SyncResult:
        """Write the files and signal Mosquitto when the credentials generation changed since
        the last write (always with ``force``)."""
        with self._lock:
            # The generation is read before the records: a change in between makes the files
            # newer than the number kept, and the next call writes them again.
            generation = self.store.records_generation(CREDENTIALS_KIND)
            if not force and generation == self._last_generation:
                return SyncResult(written=False, generation=generation)
            records = self.records()
            text = self.password_file_text(records)
            write_atomically(self.files.password_file, text)
            write_atomically(self.files.acl_file, self._acl)
            self._last_generation = generation
            self.writes += 1
            devices = text.count("\n") - 1
            error = (
                signal_reload(self.files.pid_file)
                if self.files.pid_file is not None
                else "no pid file configured"
            )
            if error is not None and self.files.pid_file is not None:
                logger.warning("Mosquitto files written but not reloaded: %s", error)
            logger.info(
                "Mosquitto files written: %d device logins (credentials generation %d)",
                devices,
                generation,
            )
            return SyncResult(
                written=True,
                generation=generation,
                devices=devices,
                signalled=error is None,
                signal_error=error,
            )


def sync_from_settings(store: ContextStore, settings: Settings) -> MosquittoSync | None:
    """The sync that ``settings`` ask for (``CETATE_MOSQUITTO_PASSWORD_FILE`` and
    ``CETATE_MOSQUITTO_ACL_FILE``), or None when neither is set. The service password is
    ``CETATE_MOSQUITTO_SERVICE_PASSWORD``, else the one in ``CETATE_MQTT_EXTERNAL_URL``."""
    if not settings.mosquitto_password_file and not settings.mosquitto_acl_file:
        return None
    if not settings.mosquitto_password_file or not settings.mosquitto_acl_file:
        raise MosquittoSyncError(
            "set both CETATE_MOSQUITTO_PASSWORD_FILE and CETATE_MOSQUITTO_ACL_FILE (or neither)"
        )
    password = settings.mosquitto_service_password or _url_password(settings.mqtt_external_url)
    files = MosquittoFiles(
        password_file=Path(settings.mosquitto_password_file),
        acl_file=Path(settings.mosquitto_acl_file),
        pid_file=Path(settings.mosquitto_pid_file) if settings.mosquitto_pid_file else None,
    )
    return MosquittoSync(
        store,
        files,
        service_username=settings.mosquitto_service_username,
        service_password=password,
    )


def _url_password(url: str) -> str:
    if not url:
        return ""
    password = urlsplit(url).password
    return unquote(password) if password else ""
