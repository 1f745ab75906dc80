"""Stored photos of reports, served at ``/open311/v2/media/{media_id}.{ext}``.

Only cleaned photos (:func:`cetate.domains.citizens.photos.process_photo`) are stored, as store
records so that both backends keep them in the same transaction-safe way: kind
``citizen-media``, key and lookup = the media id (random, unguessable, unique across tenants),
data = ``{"contentType", "extension", "width", "height", "requestId", "data"}`` with the image
in base64.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Final

from cetate.domains.citizens.photos import Photo
from cetate.store.base import ContextStore

KIND: Final = "citizen-media"


@dataclass(frozen=True, slots=True)
class StoredMedia:
    media_id: str
    tenant: str
    content_type: str
    extension: str
    data: bytes


def save_photo(store: ContextStore, tenant: str, photo: Photo) -> StoredMedia:
    """Store a cleaned photo under a new media id."""
    media_id = secrets.token_urlsafe(18)
    data = {
        "contentType": photo.content_type,
        "extension": photo.extension,
        "width": photo.width,
        "height": photo.height,
        "data": base64.b64encode(photo.data).decode("ascii"),
    }
    store.put_record(tenant, KIND, media_id, data, expected_version=None, lookup=media_id)
    return StoredMedia(media_id, tenant, photo.content_type, photo.extension, photo.data)


def load_media(store: ContextStore, media_id: str) -> StoredMedia | None:
    record = store.find_record(KIND, media_id)
    if record is None:
        return None
    return StoredMedia(
        media_id=record.key,
        tenant=record.tenant,
        content_type=str(record.data["contentType"]),
        extension=str(record.data["extension"]),
        data=base64.b64decode(record.data["data"]),
    )


def delete_media(store: ContextStore, tenant: str, media_id: str) -> None:
    store.delete_record(tenant, KIND, media_id)
