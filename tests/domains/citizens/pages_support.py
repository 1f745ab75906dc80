"""What the page tests share: a seeded SQLite store (tenant ``oradea``, the default one; an
admin, an operator and a viewer with console passwords) and the application on it."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from PIL import Image

from cetate.api.app import create_app
from cetate.auth.users import create_user
from cetate.config import Settings
from cetate.store.base import ContextStore, Tenant, open_store

ADMIN: Final = ("elena", "elena-password-123")
OPERATOR: Final = ("maria", "maria-password-123")
VIEWER: Final = ("ion", "ion-password-123")


def seeded_store(path: Path) -> ContextStore:
    store = open_store(f"sqlite:///{path}")
    store.migrate()
    store.put_tenant(Tenant(name="oradea", title="Oradea"))
    create_user(store, *ADMIN, display_name="Elena", roles={"oradea": "admin"})
    create_user(store, *OPERATOR, display_name="Maria", roles={"oradea": "operator"})
    create_user(store, *VIEWER, display_name="Ion", roles={"oradea": "viewer"})
    return store


def pages_app(store: ContextStore, **settings: object) -> FastAPI:
    return create_app(
        Settings(
            database_url="sqlite:///unused.db",
            default_tenant="oradea",
            secret_key="citizens-pages-secret-0123456789",
            mqtt_builtin=False,
            notification_worker=False,
            **settings,  # type: ignore[arg-type]
        ),
        store,
    )


def png_photo(size: tuple[int, int] = (800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (40, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)
