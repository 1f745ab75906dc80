"""Turning client payloads into stored form and stored form into the three NGSI-LD
representations (normalized, concise, keyValues), §4.5."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.model import AttributeInstance, EntityDoc

Representation = Literal["normalized", "concise", "keyValues"]


def expand_entity(payload: Mapping[str, Any], context: LdContext) -> EntityDoc:
    """A client entity (normalized or concise) in stored form, without timestamps.
    Validates everything (id is a URI, type present, attribute shapes, GeoJSON geometry,
    reserved names) and raises :class:`cetate.errors.BadRequestData` naming the bad part."""
    raise NotImplementedError


def expand_attributes(
    payload: Mapping[str, Any], context: LdContext
) -> dict[str, list[AttributeInstance]]:
    """A fragment of attributes (POST/PATCH .../attrs bodies) in stored form. ``id``, ``type``
    and ``@context`` in the payload are ignored; nothing else is."""
    raise NotImplementedError


def render_entity(
    entity: EntityDoc,
    context: LdContext,
    *,
    representation: Representation = "normalized",
    sys_attrs: bool = False,
    attrs: frozenset[str] | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """A stored entity as the client asked for it, with terms compacted by ``context``.
    ``attrs`` (expanded IRIs) projects; ``lang`` picks from LanguageProperty maps.
    No ``@context`` key is added: the caller adds it or sends a Link header."""
    raise NotImplementedError
