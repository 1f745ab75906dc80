"""What the console keeps per application: templates, domains, the session codec. (The store
and settings are the application's: :func:`cetate.api.deps.get_store` and ``get_settings``.)"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from fastapi import Request
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from cetate.auth.sessions import SessionCodec, session_codec
from cetate.config import Settings
from cetate.store.base import ContextStore
from cetate.web.registry import DomainRegistry

PACKAGE_DIR: Final = Path(__file__).parent
TEMPLATES_DIR: Final = PACKAGE_DIR / "templates"
STATIC_DIR: Final = PACKAGE_DIR / "static"


@dataclass(slots=True)
class ConsoleState:
    """Kept at ``app.state.console`` by :func:`cetate.web.mount_console`."""

    registry: DomainRegistry
    env: Environment
    _codec: SessionCodec | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def codec(self, store: ContextStore, settings: Settings) -> SessionCodec:
        """The session codec, made once (the secret may have to be generated and stored)."""
        with self._lock:
            if self._codec is None:
                self._codec = session_codec(store, settings)
            return self._codec


def make_environment(registry: DomainRegistry) -> Environment:
    """Core templates first (``console/…``), then each domain's templates directory."""
    loaders = [FileSystemLoader(TEMPLATES_DIR)]
    loaders += [FileSystemLoader(path) for path in registry.templates_dirs()]
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def console_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state
