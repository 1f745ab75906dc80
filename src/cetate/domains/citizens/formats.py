"""JSON and XML output of the Open311 GeoReport v2 API.

Every answer is built as plain Python data (lists of dicts of strings, numbers, booleans,
``None`` and nested lists/dicts) and rendered by :func:`render` in the format the path asked
for. XML follows the specification's element names: a list becomes a root element holding one
child per item (``<services><service>…``), nested lists get a wrapper with one element per item
(``<attributes><attribute>…``, ``<values><value>…``); ``None`` becomes an empty element and
booleans ``true``/``false``. Text is escaped by the XML serializer, so HTML or script in a
description arrives as text (``&lt;script&gt;``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # serialising only: nothing untrusted is parsed
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import orjson
from starlette.responses import Response

from cetate.domains.citizens.errors import Open311Error

Format = Literal["json", "xml"]
FORMATS: Final = ("json", "xml")
JSON_MEDIA: Final = "application/json"
XML_MEDIA: Final = "text/xml"

ITEM_NAMES: Final[Mapping[str, str]] = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "keywords": "keyword",
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        item_name = ITEM_NAMES.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, item_name), child)
    else:
        element.text = _text(value)


def to_xml(root: str, data: Any) -> bytes:
    """``data`` under a root element named ``root``."""
    element = ET.Element(root)
    _fill(element, data)
    text: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return text


def render(data: Any, fmt: Format, *, root: str, status_code: int = 200) -> Response:
    """One answer: JSON as it is, XML under ``root`` (``services``, ``service_requests`` …)."""
    if fmt == "xml":
        return Response(
            to_xml(root, data), status_code=status_code, media_type=f"{XML_MEDIA}; charset=utf-8"
        )
    return Response(orjson.dumps(data), status_code=status_code, media_type=JSON_MEDIA)


def render_error(error: Open311Error, fmt: Format) -> Response:
    """The Open311 error list with the error's HTTP status."""
    body = [{"code": error.status, "description": error.description}]
    return render(body, fmt, root="errors", status_code=error.status)
