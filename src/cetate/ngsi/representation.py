"""Turning client payloads into stored form and stored form into the three NGSI-LD
representations (normalized, concise, keyValues), §4.5.

Input (:func:`expand_entity`, :func:`expand_attributes`) accepts the normalized and the concise
representation, mixed freely. In the concise form an attribute's ``type`` is inferred (§4.5.3):

==================================================  ===================================
the attribute is …                                  stored as
==================================================  ===================================
an object with ``type`` (an attribute type)         that type (normalized form)
an object with ``value``                            Property (GeoProperty if the value
                                                    is a GeoJSON geometry)
an object with ``object``                           Relationship
an object with ``languageMap``                      LanguageProperty
an object with ``valueList``                        ListProperty
an object with ``objectList``                       ListRelationship
an object with ``vocab``                            VocabProperty
a GeoJSON geometry (``type`` + ``coordinates``)     GeoProperty
an array of attribute objects                       several instances (one per datasetId)
anything else (string, number, array, object)       Property with that value
==================================================  ===================================

Values are kept verbatim (a JSON object value, ``{"@type": "DateTime", "@value": …}`` included).
``observedAt`` is normalised to UTC with milliseconds (the stored form's timestamp rule);
``createdAt``/``modifiedAt``/``deletedAt`` given by a client are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from cetate.errors import BadRequestData, CetateError
from cetate.ngsi import geo
from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.model import (
    ATTRIBUTE_KEYWORDS,
    ATTRIBUTE_TYPES,
    VALUE_KEYS,
    AttributeInstance,
    EntityDoc,
)
from cetate.ngsi.timestamps import format_datetime, parse_datetime

Representation = Literal["normalized", "concise", "keyValues"]

NGSI_LD_NULL: Final = "urn:ngsi-ld:null"
"""The explicit null of NGSI-LD merge-patch (§5.6.17): the attribute is to be deleted."""

GEOMETRY_TYPES: Final = frozenset({*geo.GEOMETRY_TYPES, "GeometryCollection"})
"""The ``type`` of a JSON object taken for a GeoJSON geometry (validation refuses a
GeometryCollection, which :mod:`cetate.ngsi.geo` does not support)."""

SYSTEM_TIMESTAMPS: Final = ("createdAt", "modifiedAt", "deletedAt")


_INFER_FROM_KEY: Final = {
    "value": "Property",
    "object": "Relationship",
    "languageMap": "LanguageProperty",
    "valueList": "ListProperty",
    "objectList": "ListRelationship",
    "vocab": "VocabProperty",
}

_COMMON_KEYS: Final = frozenset({"type", "observedAt", "unitCode", "datasetId", *SYSTEM_TIMESTAMPS})
_ALLOWED_KEYWORDS: Final = {
    "Property": _COMMON_KEYS | {"value", "lang"},
    "GeoProperty": _COMMON_KEYS | {"value"},
    "Relationship": _COMMON_KEYS | {"object", "objectType"},
    "LanguageProperty": _COMMON_KEYS | {"languageMap"},
    "ListProperty": _COMMON_KEYS | {"valueList"},
    "ListRelationship": _COMMON_KEYS | {"objectList", "objectType"},
    "VocabProperty": _COMMON_KEYS | {"vocab"},
}

_URI: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_FORBIDDEN_NAME_CHARS: Final = re.compile(r"[\s<>\"'=;()\\{}|^`\x00-\x1f\x7f]")


# --------------------------------------------------------------------------------------------
# validation helpers


def is_uri(text: Any) -> bool:
    """An absolute URI (``scheme:rest``, no whitespace), as NGSI-LD requires for ids."""
    return isinstance(text, str) and len(text) <= 2048 and _URI.match(text) is not None


_VALID_NAMES: set[str] = set()
_MAX_VALID_NAMES: Final = 50_000


def _check_name(name: Any, where: str) -> str:
    if name in _VALID_NAMES:
        return str(name)
    if not isinstance(name, str) or not name:
        raise BadRequestData(f"{where}: an attribute name must be a non-empty string")
    if name.startswith("@") or _FORBIDDEN_NAME_CHARS.search(name) or len(name) > 512:
        raise BadRequestData(
            f"{where}: {name!r} is not a valid attribute name (no whitespace, no '@' at the "
            "start, none of < > \" ' = ; ( ) \\ { } | ^ `)",
            attribute=name,
        )
    if len(_VALID_NAMES) < _MAX_VALID_NAMES:
        _VALID_NAMES.add(name)
    return name


def _check_type_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise BadRequestData(f"{where}: an entity type must be a non-empty string")
    if name.startswith("@") or _FORBIDDEN_NAME_CHARS.search(name):
        raise BadRequestData(f"{where}: {name!r} is not a valid entity type name")
    return name


_UTC_MILLIS: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_UTC_SECONDS: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _timestamp(value: Any, where: str) -> str:
    """UTC with milliseconds and Z; the common already-normalised shapes skip parsing."""
    if isinstance(value, str):
        if _UTC_MILLIS.fullmatch(value) and _plausible(value):
            return value
        if _UTC_SECONDS.fullmatch(value) and _plausible(value):
            return value[:-1] + ".000Z"
    if not isinstance(value, str):
        raise BadRequestData(f"{where}: expected an ISO 8601 date-time string, got {value!r}")
    try:
        return format_datetime(parse_datetime(value))
    except CetateError:
        raise BadRequestData(
            f"{where}: {value!r} is not an ISO 8601 date-time (for example 2026-11-23T10:00:00Z)"
        ) from None


def _plausible(text: str) -> bool:
    """Field ranges of ``YYYY-MM-DDTHH:MM:SS`` (the day of month is checked by parsing when
    above 28)."""
    month, day = int(text[5:7]), int(text[8:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    return 1 <= month <= 12 and 1 <= day <= 28 and hour < 24 and minute < 60 and second < 60


def _is_geometry(value: Any) -> bool:
    """A JSON object that claims to be a GeoJSON geometry (validation says if it is one)."""
    return isinstance(value, Mapping) and value.get("type") in GEOMETRY_TYPES


def _looks_like_attribute(value: Any) -> bool:
    """A JSON object that is an attribute in normalized or concise form (not a plain value)."""
    if not isinstance(value, Mapping):
        return False
    kind = value.get("type")
    if isinstance(kind, str) and kind in ATTRIBUTE_TYPES:
        return True
    return any(key in value for key in _INFER_FROM_KEY)


# --------------------------------------------------------------------------------------------
# input


class _Expander:
    def __init__(self, context: LdContext, *, allow_null: bool) -> None:
        self.context = context
        self.allow_null = allow_null

    def attribute(self, name: str, raw: Any) -> tuple[str, list[AttributeInstance]]:
        """One top-level attribute as (expanded name, instances)."""
        _check_name(name, "attribute")
        iri = self.context.expand_term(name)
        if isinstance(raw, list) and raw and all(_looks_like_attribute(item) for item in raw):
            instances = [self.instance(item, name) for item in raw]
        else:
            instances = [self.instance(raw, name)]
        seen: set[str | None] = set()
        for instance in instances:
            dataset = instance.get("datasetId")
            if dataset in seen:
                which = f"datasetId {dataset!r}" if dataset else "the default instance"
                raise BadRequestData(
                    f"attribute {name!r}: {which} is given more than once; each datasetId "
                    "(and the default instance, without datasetId) may appear only once",
                    attribute=name,
                )
            seen.add(dataset)
        return iri, instances

    def instance(self, raw: Any, name: str) -> AttributeInstance:
        if raw is None:
            raise BadRequestData(
                f"attribute {name!r} is null; null is not a valid NGSI-LD value"
                + (' (use "urn:ngsi-ld:null" to delete it)' if self.allow_null else ""),
                attribute=name,
            )
        if not isinstance(raw, Mapping):
            return {"type": "Property", "value": raw}
        kind = raw.get("type")
        if kind is None:
            kind = self._infer(raw)
            if kind is None:  # a plain JSON object value
                return {"type": "Property", "value": dict(raw)}
        elif not isinstance(kind, str) or kind not in ATTRIBUTE_TYPES:
            if _is_geometry(raw):
                self._geometry(raw, name)
                return {"type": "GeoProperty", "value": dict(raw)}
            if any(key in raw for key in _INFER_FROM_KEY):
                raise BadRequestData(
                    f"attribute {name!r}: unknown attribute type {kind!r}; expected one of "
                    + ", ".join(sorted(ATTRIBUTE_TYPES)),
                    attribute=name,
                )
            # concise: a JSON object value that happens to have a "type" member
            return {"type": "Property", "value": dict(raw)}
        return self._typed(raw, kind, name)

    @staticmethod
    def _infer(raw: Mapping[str, Any]) -> str | None:
        for key, kind in _INFER_FROM_KEY.items():
            if key in raw:
                if kind == "Property" and _is_geometry(raw["value"]):
                    return "GeoProperty"
                return kind
        return None

    def _geometry(self, value: Any, name: str) -> None:
        if self.allow_null and value == NGSI_LD_NULL:
            return
        try:
            geo.validate_geometry(value)
        except BadRequestData as exc:
            raise BadRequestData(
                f"attribute {name!r}: invalid GeoJSON geometry: {exc.detail}", attribute=name
            ) from None

    def _uri(self, value: Any, name: str, member: str) -> str:
        if self.allow_null and value == NGSI_LD_NULL:
            return NGSI_LD_NULL
        if not is_uri(value):
            raise BadRequestData(
                f"attribute {name!r}: {member} must be an absolute URI, got {value!r}",
                attribute=name,
            )
        return str(value)

    def _typed(self, raw: Mapping[str, Any], kind: str, name: str) -> AttributeInstance:
        allowed = _ALLOWED_KEYWORDS[kind]
        value_key = VALUE_KEYS[kind]
        if value_key not in raw:
            raise BadRequestData(
                f"attribute {name!r}: a {kind} needs the member {value_key!r}", attribute=name
            )
        out: AttributeInstance = {"type": kind}
        for key, member in raw.items():
            if key in ATTRIBUTE_KEYWORDS:
                if key not in allowed:
                    raise BadRequestData(
                        f"attribute {name!r}: {key!r} is not allowed in a {kind}",
                        attribute=name,
                    )
                if key in SYSTEM_TIMESTAMPS or key == "type":
                    continue
                out[key] = self._member(key, member, kind, name)
            else:
                _check_name(key, f"attribute {name!r}")
                if key.startswith("@"):
                    raise BadRequestData(f"attribute {name!r}: {key!r} is not allowed")
                sub_iri = self.context.expand_term(key)
                if (
                    isinstance(member, list)
                    and member
                    and all(_looks_like_attribute(item) for item in member)
                ):
                    raise BadRequestData(
                        f"attribute {name!r}: sub-attribute {key!r} must be a single "
                        "attribute, not an array of instances",
                        attribute=name,
                    )
                out[sub_iri] = self.instance(member, f"{name}.{key}")
        return out

    def _member(self, key: str, member: Any, kind: str, name: str) -> Any:
        if member is None:
            raise BadRequestData(
                f"attribute {name!r}: {key!r} is null; null is not a valid NGSI-LD value",
                attribute=name,
            )
        if key == "value":
            if kind == "GeoProperty":
                self._geometry(member, name)
            return member
        if key == "object":
            if isinstance(member, list):
                if not member:
                    raise BadRequestData(f"attribute {name!r}: object must not be empty")
                return [self._uri(item, name, "object") for item in member]
            return self._uri(member, name, "object")
        if key == "objectList":
            if not isinstance(member, list):
                if self.allow_null and member == NGSI_LD_NULL:
                    return member
                raise BadRequestData(f"attribute {name!r}: objectList must be an array")
            for item in member:
                target = item.get("object") if isinstance(item, Mapping) else item
                self._uri(target, name, "objectList item")
            return member
        if key == "valueList":
            if not isinstance(member, list):
                if self.allow_null and member == NGSI_LD_NULL:
                    return member
                raise BadRequestData(f"attribute {name!r}: valueList must be an array")
            return member
        if key == "languageMap":
            return self._language_map(member, name)
        if key == "vocab":
            return self._vocab(member, name)
        if key == "objectType":
            return self._vocab(member, name)
        if key == "observedAt":
            return _timestamp(member, f"attribute {name!r}: observedAt")
        if key == "unitCode":
            if not isinstance(member, str) or not member:
                raise BadRequestData(f"attribute {name!r}: unitCode must be a string")
            return member
        if key == "datasetId":
            return self._uri(member, name, "datasetId")
        if key == "lang":
            if not isinstance(member, str):
                raise BadRequestData(f"attribute {name!r}: lang must be a string")
            return member
        return member  # pragma: no cover - every keyword is handled above

    def _language_map(self, member: Any, name: str) -> Any:
        if self.allow_null and member == NGSI_LD_NULL:
            return member
        if not isinstance(member, Mapping) or not member:
            raise BadRequestData(
                f"attribute {name!r}: languageMap must be a non-empty object of language "
                "tag → string",
                attribute=name,
            )
        for tag, text in member.items():
            ok = isinstance(text, str) or (
                isinstance(text, list) and all(isinstance(item, str) for item in text)
            )
            if not ok:
                raise BadRequestData(
                    f"attribute {name!r}: languageMap[{tag!r}] must be a string or an array "
                    "of strings",
                    attribute=name,
                )
        return dict(member)

    def _vocab(self, member: Any, name: str) -> Any:
        if self.allow_null and member == NGSI_LD_NULL:
            return member
        if isinstance(member, str) and member:
            return self.context.expand_term(member)
        if isinstance(member, list) and member and all(isinstance(m, str) for m in member):
            return [self.context.expand_term(item) for item in member]
        raise BadRequestData(
            f"attribute {name!r}: vocab/objectType must be a term or an array of terms",
            attribute=name,
        )


def _entity_types(raw: Any, context: LdContext) -> list[str]:
    if raw is None:
        raise BadRequestData("the entity has no 'type'; every NGSI-LD entity needs a type")
    names = raw if isinstance(raw, list) else [raw]
    if not names:
        raise BadRequestData("the entity 'type' must not be an empty array")
    types: list[str] = []
    for item in names:
        iri = context.expand_term(_check_type_name(item, "entity type"))
        if iri not in types:
            types.append(iri)
    return types


def _scope(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    for item in items:
        if not isinstance(item, str) or not re.fullmatch(r"(/[^/\s+#]+)+", item):
            raise BadRequestData(
                f"scope {item!r} is not valid; a scope is a path such as /Cluj/Centru"
            )
    return list(items)


def expand_entity(payload: Mapping[str, Any], context: LdContext) -> EntityDoc:
    """A client entity (normalized or concise) in stored form, without timestamps.
    Validates everything (id is a URI, type present, attribute shapes, GeoJSON geometry,
    reserved names) and raises :class:`cetate.errors.BadRequestData` naming the bad part."""
    if not isinstance(payload, Mapping):
        raise BadRequestData("an entity must be a JSON object")
    entity_id = payload.get("id")
    if entity_id is None:
        raise BadRequestData("the entity has no 'id'; every NGSI-LD entity needs an id (a URI)")
    if not is_uri(entity_id):
        raise BadRequestData(
            f"entity id {entity_id!r} is not an absolute URI (for example "
            "urn:ngsi-ld:WasteContainer:cluj:0001)",
            id=entity_id if isinstance(entity_id, str) else None,
        )
    doc: EntityDoc = {"id": entity_id, "type": _entity_types(payload.get("type"), context)}
    if "scope" in payload:
        doc["scope"] = _scope(payload["scope"])
    expander = _Expander(context, allow_null=False)
    for name, raw in payload.items():
        if name in ("id", "type", "scope", "@context", *SYSTEM_TIMESTAMPS):
            continue
        try:
            iri, instances = expander.attribute(name, raw)
        except BadRequestData as exc:
            exc.extra.setdefault("id", entity_id)
            raise
        if iri in doc:
            raise BadRequestData(
                f"attribute {name!r} is given twice (as another term for the same IRI {iri})",
                attribute=name,
            )
        doc[iri] = instances
    return doc


def expand_attributes(
    payload: Mapping[str, Any], context: LdContext
) -> dict[str, list[AttributeInstance]]:
    """A fragment of attributes (POST/PATCH .../attrs bodies) in stored form. ``id``, ``type``
    and ``@context`` in the payload are ignored; nothing else is.

    ``"urn:ngsi-ld:null"`` (merge-patch deletion) is kept as given, wherever it appears."""
    if not isinstance(payload, Mapping):
        raise BadRequestData("the attributes must be a JSON object")
    expander = _Expander(context, allow_null=True)
    out: dict[str, list[AttributeInstance]] = {}
    for name, raw in payload.items():
        if name in ("id", "type", "@context"):
            continue
        if name in ("scope", *SYSTEM_TIMESTAMPS):
            raise BadRequestData(f"{name!r} cannot be changed as an attribute", attribute=name)
        iri, instances = expander.attribute(name, raw)
        if iri in out:
            raise BadRequestData(f"attribute {name!r} is given twice", attribute=name)
        out[iri] = instances
    return out


def expand_attribute(
    name: str, payload: Any, context: LdContext, *, allow_null: bool = True
) -> tuple[str, AttributeInstance]:
    """One attribute instance (PATCH .../attrs/{attrId} body) in stored form, with the
    expanded name. ``"urn:ngsi-ld:null"`` is kept when ``allow_null``."""
    expander = _Expander(context, allow_null=allow_null)
    _check_name(name, "attribute")
    return context.expand_term(name), expander.instance(payload, name)


# --------------------------------------------------------------------------------------------
# output


def _parse_lang(lang: str) -> list[str] | None:
    """``en``, ``ro,en;q=0.8`` … as tags in order of preference; ``None`` for ``*``."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(lang.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag:
            continue
        if tag == "*":
            return None
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def _pick_language(language_map: Mapping[str, Any], tags: list[str]) -> tuple[str, Any]:
    for tag in tags:
        if tag in language_map:
            return tag, language_map[tag]
    lowered = {key.lower(): key for key in language_map}
    for tag in tags:
        key = lowered.get(tag.lower()) or lowered.get(tag.split("-")[0].lower())
        if key is not None:
            return key, language_map[key]
    if "@none" in language_map:
        return "@none", language_map["@none"]
    first = next(iter(language_map))
    return first, language_map[first]


class _Renderer:
    def __init__(
        self,
        context: LdContext,
        representation: Representation,
        sys_attrs: bool,
        lang: str | None,
    ) -> None:
        self.context = context
        self.representation = representation
        self.sys_attrs = sys_attrs
        self.tags = _parse_lang(lang) if lang else None

    def attribute(self, instances: list[AttributeInstance]) -> Any:
        if self.representation == "keyValues":
            if len(instances) == 1:
                return self.simple(instances[0])
            dataset: dict[str, Any] = {}
            for instance in instances:
                dataset[instance.get("datasetId", "@none")] = self.simple(instance)
            return {"dataset": dataset}
        if len(instances) == 1:
            return self.instance(instances[0])
        # several instances: each must read back as an attribute, so none is written bare
        return [self.instance(instance, bare=False) for instance in instances]

    def simple(self, instance: AttributeInstance) -> Any:
        kind = instance.get("type")
        if kind == "LanguageProperty" and self.tags is not None:
            return _pick_language(instance["languageMap"], self.tags)[1]
        if kind == "VocabProperty":
            return self._compact_vocab(instance["vocab"])
        return instance.get(VALUE_KEYS.get(str(kind), "value"))

    def _compact_vocab(self, vocab: Any) -> Any:
        if isinstance(vocab, list):
            return [self.context.compact_iri(item) for item in vocab]
        if isinstance(vocab, str):
            return self.context.compact_iri(vocab)
        return vocab

    def instance(self, instance: AttributeInstance, *, bare: bool = True) -> Any:
        kind = instance.get("type")
        out: dict[str, Any] = {"type": kind}
        picked = kind == "LanguageProperty" and self.tags is not None
        for key, member in instance.items():
            if key == "type":
                continue
            if key in ATTRIBUTE_KEYWORDS:
                if key in SYSTEM_TIMESTAMPS and not self.sys_attrs:
                    continue
                if key == "languageMap" and picked:
                    tag, text = _pick_language(member, self.tags or [])
                    out["type"] = "Property"
                    out["value"] = text
                    if tag != "@none":
                        out["lang"] = tag
                    continue
                if key in ("vocab", "objectType"):
                    member = self._compact_vocab(member)
                out[key] = member
            else:
                out[self.context.compact_iri(key)] = self.instance(member)
        if self.representation == "concise":
            return self._concise(out, bare)
        return out

    @staticmethod
    def _concise(out: dict[str, Any], bare: bool) -> Any:
        kind = out.pop("type", None)
        if bare and kind in ("Property", "GeoProperty") and set(out) == {"value"}:
            value = out["value"]
            if kind == "GeoProperty" and _is_geometry(value):
                return value
            if kind == "Property" and not _ambiguous_bare(value):
                return value
        if kind == "GeoProperty" and not _is_geometry(out.get("value")):
            out = {"type": kind, **out}  # a GeoProperty whose value is not a geometry
        if kind == "Property" and _is_geometry(out.get("value")):
            out = {"type": kind, **out}  # would otherwise be read back as a GeoProperty
        return out


def _ambiguous_bare(value: Any) -> bool:
    """Would this value, written bare in concise form, be read back as something else?"""
    if isinstance(value, Mapping):
        return (
            _looks_like_attribute(value)
            or _is_geometry(value)
            or (isinstance(value.get("type"), str) and value["type"] in ATTRIBUTE_TYPES)
        )
    if isinstance(value, list):
        return bool(value) and all(_looks_like_attribute(item) for item in value)
    return value is None


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
    No ``@context`` key is added: the caller adds it or sends a Link header.

    Values are not copied: the result shares them with ``entity`` (do not mutate either)."""
    renderer = _Renderer(context, representation, sys_attrs, lang)
    types = [context.compact_iri(iri) for iri in entity.get("type", [])]
    out: dict[str, Any] = {"id": entity["id"], "type": types[0] if len(types) == 1 else types}
    scope = entity.get("scope")
    if scope:
        out["scope"] = scope[0] if len(scope) == 1 else list(scope)
    if sys_attrs:
        for key in SYSTEM_TIMESTAMPS:
            if key in entity:
                out[key] = entity[key]
    for key, instances in entity.items():
        if key in _ENTITY_KEYS:
            continue
        if attrs is not None and key not in attrs:
            continue
        out[context.compact_iri(key)] = renderer.attribute(instances)
    return out


def render_entities(
    entities: Iterable[EntityDoc],
    context: LdContext,
    *,
    representation: Representation = "normalized",
    sys_attrs: bool = False,
    attrs: frozenset[str] | None = None,
    lang: str | None = None,
) -> list[dict[str, Any]]:
    """:func:`render_entity` for each entity."""
    return [
        render_entity(
            entity,
            context,
            representation=representation,
            sys_attrs=sys_attrs,
            attrs=attrs,
            lang=lang,
        )
        for entity in entities
    ]


_ENTITY_KEYS: Final = frozenset({"id", "type", "scope", "@context", *SYSTEM_TIMESTAMPS})
