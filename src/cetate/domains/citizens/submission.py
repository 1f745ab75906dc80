"""Checking a POST ``requests`` form (Open311 GeoReport v2) into a :class:`Submission`.

Every rule gives an :class:`~cetate.domains.citizens.errors.Open311Error` (HTTP 400 unless
said otherwise) whose description names the field and what is wrong:

* ``service_code`` is required and must be one of the tenant's services;
* a location is required: ``lat`` and ``long`` together (decimal degrees, WGS84, in range), or
  ``address_string``, or ``address_id``;
* ``attribute[code]`` (``attribute[code][]`` for a multivaluelist) must name the service's
  attributes, every required one present, values of the declared datatype and list values
  among the declared keys;
* texts have upper bounds (:class:`~cetate.domains.citizens.config.Limits`) and may not contain
  control characters; HTML is *not* removed: it is kept as text and escaped wherever it is
  shown;
* ``email`` and ``phone`` must look like an e-mail address and a phone number;
* ``media_url`` must be an http(s) URL; it cannot be combined with an uploaded ``media`` file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cetate.domains.citizens.config import Limits, Service, ServiceAttribute
from cetate.domains.citizens.errors import bad_request
from cetate.errors import CetateError
from cetate.ngsi.timestamps import format_datetime, parse_datetime

_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL: Final = re.compile(r"[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_PHONE: Final = re.compile(r"\+?[0-9 ().-]{3,40}")
_URL: Final = re.compile(r"https?://[^\s<>\"']{1,2040}")
_ATTRIBUTE_KEY: Final = re.compile(r"attribute\[([^\]]*)\](\[\])?")
MAX_URL: Final = 2048
MAX_ID: Final = 256

PERSONAL_FIELDS: Final = ("email", "first_name", "last_name", "phone", "device_id", "account_id")
"""What identifies the reporter: kept in a private store record, never in the public entity."""


@dataclass(frozen=True, slots=True)
class Submission:
    """A checked report, ready to store."""

    service: Service
    lat: float | None
    long: float | None
    address_string: str | None
    address_id: str | None
    description: str | None
    media_url: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    """attribute code → value (a list for multivaluelist)"""
    reporter: dict[str, str] = field(default_factory=dict)
    """the personal fields that were given (see :data:`PERSONAL_FIELDS`)"""


def _text(
    fields: Mapping[str, str], name: str, limit: int, *, multiline: bool = False
) -> str | None:
    raw = fields.get(name)
    if raw is None:
        return None
    value = raw.strip()
    if not value:
        return None
    if len(value) > limit:
        raise bad_request(f"{name} has {len(value)} characters; at most {limit} are accepted")
    checked = value.replace("\n", "").replace("\r", "").replace("\t", "") if multiline else value
    if _CONTROL.search(checked) or (not multiline and ("\n" in value or "\r" in value)):
        raise bad_request(f"{name} contains control characters")
    return value


def _coordinate(fields: Mapping[str, str], name: str, bound: float) -> float | None:
    raw = fields.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        raise bad_request(f"{name} {raw!r} is not a number (decimal degrees, WGS84)") from None
    if not math.isfinite(value) or not -bound <= value <= bound:
        raise bad_request(f"{name} {raw!r} is out of range: it must be from -{bound} to {bound}")
    return value


def _attribute_value(attribute: ServiceAttribute, values: list[str], limits: Limits) -> Any:
    name = f"attribute[{attribute.code}]"
    cleaned = [value.strip() for value in values if value.strip()]
    if attribute.datatype == "multivaluelist":
        unknown = [value for value in cleaned if value not in attribute.value_keys()]
        if unknown:
            raise bad_request(
                f"{name}: {', '.join(repr(u) for u in unknown)} not among the values "
                f"{', '.join(sorted(attribute.value_keys()))}"
            )
        return sorted(set(cleaned))
    if len(cleaned) > 1:
        raise bad_request(f"{name} is given {len(cleaned)} times; it takes one value")
    value = cleaned[0]
    if attribute.datatype == "singlevaluelist":
        if value not in attribute.value_keys():
            raise bad_request(
                f"{name}: {value!r} is not one of {', '.join(sorted(attribute.value_keys()))}"
            )
        return value
    if attribute.datatype == "number":
        try:
            number = float(value)
        except ValueError:
            raise bad_request(f"{name}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise bad_request(f"{name}: {value!r} is not a finite number")
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if attribute.datatype == "datetime":
        try:
            return format_datetime(parse_datetime(value))
        except CetateError as exc:
            raise bad_request(f"{name}: {exc.detail}") from None
    limit = limits.max_description if attribute.datatype == "text" else limits.max_short_text
    checked = _text({name: value}, name, limit, multiline=attribute.datatype == "text")
    return checked


def _attributes(
    service: Service, pairs: Iterable[tuple[str, str]], limits: Limits
) -> dict[str, Any]:
    given: dict[str, list[str]] = {}
    for key, value in pairs:
        match = _ATTRIBUTE_KEY.fullmatch(key)
        if match is None:
            continue
        given.setdefault(match.group(1), []).append(value)
    known = {attribute.code: attribute for attribute in service.attributes}
    unknown = sorted(code for code in given if code not in known)
    if unknown:
        offered = ", ".join(sorted(known)) or "none"
        raise bad_request(
            f"service {service.service_code!r} has no attribute {', '.join(map(repr, unknown))}; "
            f"its attributes: {offered}"
        )
    out: dict[str, Any] = {}
    for attribute in sorted(service.attributes, key=lambda a: a.order):
        values = given.get(attribute.code, [])
        if not any(value.strip() for value in values):
            if attribute.required:
                raise bad_request(
                    f"attribute[{attribute.code}] is required for service {service.service_code!r}"
                )
            continue
        out[attribute.code] = _attribute_value(attribute, values, limits)
    return out


def _reporter(fields: Mapping[str, str], limits: Limits) -> dict[str, str]:
    out: dict[str, str] = {}
    email = _text(fields, "email", 254)
    if email is not None:
        if not _EMAIL.fullmatch(email):
            raise bad_request(f"email {email!r} is not an e-mail address")
        out["email"] = email
    phone = _text(fields, "phone", 40)
    if phone is not None:
        if not _PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < 3:
            raise bad_request(f"phone {phone!r} is not a phone number")
        out["phone"] = phone
    for name, limit in (
        ("first_name", limits.max_name),
        ("last_name", limits.max_name),
        ("device_id", MAX_ID),
        ("account_id", MAX_ID),
    ):
        value = _text(fields, name, limit)
        if value is not None:
            out[name] = value
    return out


def check_submission(
    fields: Mapping[str, str],
    pairs: Iterable[tuple[str, str]],
    service: Service | None,
    limits: Limits,
    *,
    has_media_file: bool,
) -> Submission:
    """A :class:`Submission` from the form ``fields`` (first value of each name) and all its
    ``pairs`` (for repeated ``attribute[…]`` keys); ``service`` is the one ``service_code``
    names (None when unknown)."""
    code = fields.get("service_code", "").strip()
    if not code:
        raise bad_request("service_code is required: the kind of problem reported (see services)")
    if service is None:
        raise bad_request(f"service_code {code!r} is not one of this jurisdiction's services")
    lat = _coordinate(fields, "lat", 90.0)
    long = _coordinate(fields, "long", 180.0)
    if (lat is None) != (long is None):
        missing = "long" if long is None else "lat"
        raise bad_request(f"{missing} is missing: lat and long must be given together")
    address_string = _text(fields, "address_string", limits.max_short_text)
    address_id = _text(fields, "address_id", limits.max_short_text)
    if lat is None and address_string is None and address_id is None:
        raise bad_request("a location is required: lat and long, or address_string, or address_id")
    media_url = _text(fields, "media_url", MAX_URL)
    if media_url is not None:
        if has_media_file:
            raise bad_request("send either a media file or a media_url, not both")
        if not _URL.fullmatch(media_url):
            raise bad_request(f"media_url {media_url!r} is not an http(s) URL")
    return Submission(
        service=service,
        lat=lat,
        long=long,
        address_string=address_string,
        address_id=address_id,
        description=_text(fields, "description", limits.max_description, multiline=True),
        media_url=media_url,
        attributes=_attributes(service, pairs, limits),
        reporter=_reporter(fields, limits),
    )
