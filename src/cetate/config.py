"""One Settings object for the whole program, read from CETATE_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'cetate.db'}"


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as ``CETATE_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="CETATE_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    """``sqlite:///path/to/file.db`` (embedded default) or ``postgresql://user@host/db``."""

    open_access: bool = False
    """No authentication at all (``cetate serve --open``); only allowed on loopback."""

    secret_key: str = ""
    """Signs console session cookies. Generated and kept in the database when empty."""

    max_payload_bytes: int = 4 * 1024 * 1024
    """Largest accepted request body; larger ones get HTTP 413."""

    max_batch_entities: int = 10_000
    """Largest number of entities in one batch operation."""

    default_limit: int = 20
    max_limit: int = 1000

    default_tenant: str = "default"
    """Tenant used when a request sends no NGSILD-Tenant header."""

    map_tile_url: str = ""
    """Tile URL template for the console map (``https://tile.example/{z}/{x}/{y}.png``). Empty:
    no tile layer, a neutral background (works offline)."""

    smtp_host: str = ""
    """SMTP server for email notifications. Empty (the default): email is disabled."""

    smtp_port: int = 587
    """SMTP port: 587 (submission, with STARTTLS), 465 (TLS from the first byte) or 25."""

    smtp_starttls: bool = True
    """Upgrade the connection with STARTTLS; refuse to send when the server does not offer
    it. Ignored on port 465, which is TLS from the start."""

    smtp_username: str = ""
    """Login for the SMTP server; empty: no authentication."""

    smtp_password: str = ""

    smtp_from: str = ""
    """Sender of notification emails: an address, or a name and an address such as
    ``Primăria Cluj-Napoca <alerte@primariaclujnapoca.ro>``."""

    mqtt_builtin: bool = True
    """Run the built-in MQTT broker (amqtt) inside ``cetate serve``. Ignored when
    ``mqtt_external_url`` is set."""

    mqtt_host: str = "127.0.0.1"
    """Address the built-in broker listens on (``0.0.0.0`` for devices on other machines)."""

    mqtt_port: int = 1883
    """Port the built-in broker listens on."""

    mqtt_external_url: str = ""
    """Production: ``mqtt://user:password@host:1883`` (or ``mqtts://…:8883``) of an external
    broker such as Mosquitto; Cetate connects to it as a client and runs no broker itself."""

    device_rate_per_second: float = 20.0
    """Per-device rate limit on ingested messages (MQTT and HTTP together): a token bucket
    refilled at this rate; ``0`` turns the limit off. Messages over it are dead-lettered with
    reason ``rate_limited``."""

    device_rate_burst: float = 200.0
    """The token bucket's size: how many messages a device may send at once."""

    device_max_payload_bytes: int = 262_144
    """Largest HTTP device request body (413 above it); a profile may allow less."""

    mosquitto_password_file: str = ""
    """Path of the Mosquitto ``password_file`` that Cetate keeps in sync with the device
    registry (every device's MQTT login, and the service user's). Empty (the default): no
    sync. Set together with ``mosquitto_acl_file``."""

    mosquitto_acl_file: str = ""
    """Path of the Mosquitto ``acl_file`` written next to the password file."""

    mosquitto_pid_file: str = ""
    """Mosquitto's ``pid_file``: after writing the files Cetate sends that process SIGHUP so
    it reloads them. Empty: no signal (reload Mosquitto yourself)."""

    mosquitto_service_username: str = "cetate-service"
    """Cetate's own user in the generated files (reads and writes ``cetate/#``)."""

    mosquitto_service_password: str = ""
    """That user's password. Empty: the password of ``mqtt_external_url``."""

    notification_worker: bool = True
    """Run the subscription notification worker inside the application (delivers the queued
    NGSI-LD notifications; several processes may run one each)."""

    notification_poll_interval: float = 0.2
    """Seconds the notification worker waits between polls of an empty queue."""

    scheduler: bool = True
    """Run the scheduler of periodic jobs inside the application (each job runs once per
    period across all processes, guarded by a store lease)."""
