"""Typed views of the waste entities and their NGSI-LD stored form.

* **WasteContainer** — FIWARE Smart Data Models *WasteManagement*: ``fillingLevel`` (0..1, the
  fraction of the volume in use), ``location`` (GeoJSON Point), ``storedWasteKind``, ``status``;
  plus ``capacity`` (litres) and the optional Cetate terms ``serviceDuration`` (s, default 60)
  and ``collectionWindow`` ("HH:MM-HH:MM", when the bin may be emptied).
* **Vehicle** (Smart Data Models *Transportation*) for a truck: ``volumeCapacity`` (l),
  ``weightCapacity`` (kg), ``shiftStart``/``shiftEnd`` ("HH:MM"), ``maxShiftDuration`` (s),
  ``refDepot`` (Relationship) and ``refReloadSite`` (Relationships, one per ``datasetId``-free
  list in ``objectList``).
* **WasteSite** (Cetate term) for a depot or a landfill / transfer station: ``siteKind``
  (``depot`` | ``facility``), ``location``, ``openingHours`` ("HH:MM-HH:MM"),
  ``serviceDuration`` (s spent unloading).

Every reader validates and raises :class:`~.errors.WasteInputError` naming the entity and what
is wrong (no location, fill outside 0..1, non-positive capacity, …)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.geo import check_point
from cetate.domains.waste.routing.problem import DAY_S
from cetate.entities import BatchResult, EntityService
from cetate.ngsi.model import LOCATION, EntityDoc
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.timestamps import format_datetime, parse_datetime
from cetate.store.base import ContextStore, EntityQuery

SDM_WASTE: Final = "https://smartdatamodels.org/dataModel.WasteManagement/"
SDM_TRANSPORT: Final = "https://smartdatamodels.org/dataModel.Transportation/"
CETATE_WASTE: Final = "https://cetate.ro/ns/waste#"

CONTAINER_TYPE: Final = SDM_WASTE + "WasteContainer"
VEHICLE_TYPE: Final = SDM_TRANSPORT + "Vehicle"
SITE_TYPE: Final = CETATE_WASTE + "WasteSite"

FILLING_LEVEL: Final = SDM_WASTE + "fillingLevel"
WASTE_KIND: Final = SDM_WASTE + "storedWasteKind"
STATUS: Final = "https://uri.etsi.org/ngsi-ld/status"
"""``status`` is a term of the NGSI-LD core context, so it expands here under any @context."""
CAPACITY: Final = SDM_WASTE + "binCapacity"
"""The WasteContainer model's name for the volume a bin holds (litres)."""
SERVICE: Final = CETATE_WASTE + "serviceDuration"
WINDOW: Final = CETATE_WASTE + "collectionWindow"
VOLUME_CAP: Final = CETATE_WASTE + "volumeCapacity"
WEIGHT_CAP: Final = CETATE_WASTE + "weightCapacity"
SHIFT_START: Final = CETATE_WASTE + "shiftStart"
SHIFT_END: Final = CETATE_WASTE + "shiftEnd"
MAX_SHIFT: Final = CETATE_WASTE + "maxShiftDuration"
REF_DEPOT: Final = CETATE_WASTE + "refDepot"
REF_RELOAD: Final = CETATE_WASTE + "refReloadSite"
SITE_KIND: Final = CETATE_WASTE + "siteKind"
OPENING: Final = CETATE_WASTE + "openingHours"

STATUSES: Final = frozenset({"ok", "lidOpen", "dropped", "burning", "door opened", "full"})
"""WasteContainer ``status`` values of the data model"""
PAGE: Final = 500
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class WasteContainer:
    id: str
    lat: float
    lon: float
    capacity_l: int
    waste_type: str = "mixed"
    status: str = "ok"
    filling_level: float | None = None
    """latest reading, 0..1; None for a bin without a sensor"""
    observed_at: datetime | None = None
    service_s: int = 60
    window: tuple[int, int] | None = None
    """seconds of the day when it may be emptied; None: any time"""

    def __post_init__(self) -> None:
        check_point(self.lat, self.lon, f"bin {self.id}")
        if self.capacity_l <= 0:
            raise WasteInputError(f"bin {self.id}: capacity must be > 0 litres")
        if self.filling_level is not None:
            check_fill(self.filling_level, f"bin {self.id}")
        if self.status not in STATUSES:
            raise WasteInputError(f"bin {self.id}: unknown status {self.status!r}")
        if self.service_s < 0:
            raise WasteInputError(f"bin {self.id}: negative service time")


@dataclass(frozen=True, slots=True)
class Truck:
    id: str
    volume_l: int
    weight_kg: int
    depot: str
    shift_start_s: int = 6 * 3600
    shift_end_s: int = 14 * 3600
    max_shift_s: int | None = None
    reload_at: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.volume_l <= 0 or self.weight_kg <= 0:
            raise WasteInputError(f"truck {self.id}: volume and weight capacity must be > 0")
        if self.shift_end_s <= self.shift_start_s:
            raise WasteInputError(f"truck {self.id}: the shift ends before it starts")


@dataclass(frozen=True, slots=True)
class WasteSite:
    id: str
    kind: Literal["depot", "facility"]
    lat: float
    lon: float
    open_s: int = 0
    close_s: int = DAY_S
    service_s: int = 0

    def __post_init__(self) -> None:
        check_point(self.lat, self.lon, f"site {self.id}")
        if self.kind not in ("depot", "facility"):
            raise WasteInputError(f"site {self.id}: kind must be depot or facility")


def check_fill(value: object, what: str) -> float:
    """A filling level in 0..1, or an error that says what is wrong with it."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WasteInputError(f"{what}: fillingLevel must be a number (got {value!r})")
    if value < 0:
        raise WasteInputError(f"{what}: fillingLevel {value} is negative")
    if value > 1:
        raise WasteInputError(f"{what}: fillingLevel {value} is above 1 (100 %)")
    return float(value)


# -- clock strings -------------------------------------------------------------------------------
def parse_clock(text: str, what: str) -> int:
    """ "HH:MM" → seconds of the day."""
    match = _CLOCK.match(text.strip()) if isinstance(text, str) else None
    if match is None or (match.group(1) == "24" and match.group(2) != "00"):
        raise WasteInputError(f"{what}: {text!r} is not a time of day HH:MM")
    return int(match.group(1)) * 3600 + int(match.group(2)) * 60


def clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def parse_span(text: str, what: str) -> tuple[int, int]:
    """ "HH:MM-HH:MM" → (start, end) seconds of the day."""
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2:
        raise WasteInputError(f"{what}: {text!r} is not a span HH:MM-HH:MM")
    start, end = parse_clock(parts[0], what), parse_clock(parts[1], what)
    if end <= start:
        raise WasteInputError(f"{what}: {text!r} ends before it starts")
    return start, end


# -- stored form ---------------------------------------------------------------------------------
def _prop(value: Any, **extra: Any) -> list[dict[str, Any]]:
    return [{"type": "Property", "value": value, **extra}]


def _rel(target: str) -> list[dict[str, Any]]:
    return [{"type": "Relationship", "object": target}]


def _point(lat: float, lon: float) -> list[dict[str, Any]]:
    return [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}]


def _default(entity: EntityDoc, attr: str) -> dict[str, Any] | None:
    for instance in entity.get(attr) or []:
        if isinstance(instance, dict) and "datasetId" not in instance:
            return instance
    return None


def _value(entity: EntityDoc, attr: str) -> Any:
    instance = _default(entity, attr)
    return None if instance is None else instance.get("value")


def _waste_kind(value: Any) -> str:
    """``storedWasteKind`` is a list in the model (``["organic", "inorganic"]``): one kind is
    that kind, several are ``mixed``."""
    if isinstance(value, list):
        kinds = sorted({str(v) for v in value})
        return kinds[0] if len(kinds) == 1 else "mixed"
    return str(value) if value is not None else "mixed"


def _number(entity: EntityDoc, attr: str, what: str, default: float | None = None) -> float:
    value = _value(entity, attr)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        name = attr.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        raise WasteInputError(f"{what}: {name} must be a number (got {value!r})")
    return float(value)


def _location(entity: EntityDoc, what: str) -> tuple[float, float]:
    geometry = _value(entity, LOCATION)
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise WasteInputError(f"{what} has no location (a GeoJSON Point is needed)")
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        raise WasteInputError(f"{what}: location has no coordinates")
    lon, lat = coordinates[0], coordinates[1]
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        raise WasteInputError(f"{what}: location coordinates must be numbers")
    return float(lat), float(lon)


def container_to_entity(bin_: WasteContainer) -> EntityDoc:
    entity: EntityDoc = {
        "id": bin_.id,
        "type": [CONTAINER_TYPE],
        LOCATION: _point(bin_.lat, bin_.lon),
        CAPACITY: _prop(bin_.capacity_l, unitCode="LTR"),
        WASTE_KIND: _prop(bin_.waste_type),
        STATUS: _prop(bin_.status),
        SERVICE: _prop(bin_.service_s, unitCode="SEC"),
    }
    if bin_.filling_level is not None:
        extra = {"observedAt": format_datetime(bin_.observed_at)} if bin_.observed_at else {}
        entity[FILLING_LEVEL] = _prop(bin_.filling_level, unitCode="P1", **extra)
    if bin_.window is not None:
        entity[WINDOW] = _prop(f"{clock(bin_.window[0])}-{clock(bin_.window[1])}")
    return entity


def container_from_entity(entity: EntityDoc) -> WasteContainer:
    what = f"bin {entity.get('id')}"
    lat, lon = _location(entity, what)
    fill_instance = _default(entity, FILLING_LEVEL)
    fill: float | None = None
    observed: datetime | None = None
    if fill_instance is not None:
        fill = check_fill(fill_instance.get("value"), what)
        stamp = fill_instance.get("observedAt")
        observed = parse_datetime(stamp) if isinstance(stamp, str) else None
    window_text = _value(entity, WINDOW)
    kind = _waste_kind(_value(entity, WASTE_KIND))
    status = _value(entity, STATUS)
    return WasteContainer(
        id=str(entity["id"]),
        lat=lat,
        lon=lon,
        capacity_l=int(_number(entity, CAPACITY, what)),
        waste_type=kind,
        status=str(status) if status is not None else "ok",
        filling_level=fill,
        observed_at=observed,
        service_s=int(_number(entity, SERVICE, what, 60)),
        window=parse_span(window_text, what) if window_text is not None else None,
    )


def truck_to_entity(truck: Truck) -> EntityDoc:
    entity: EntityDoc = {
        "id": truck.id,
        "type": [VEHICLE_TYPE],
        VOLUME_CAP: _prop(truck.volume_l, unitCode="LTR"),
        WEIGHT_CAP: _prop(truck.weight_kg, unitCode="KGM"),
        SHIFT_START: _prop(clock(truck.shift_start_s)),
        SHIFT_END: _prop(clock(truck.shift_end_s)),
        REF_DEPOT: _rel(truck.depot),
    }
    if truck.max_shift_s is not None:
        entity[MAX_SHIFT] = _prop(truck.max_shift_s, unitCode="SEC")
    if truck.reload_at:
        entity[REF_RELOAD] = [{"type": "ListRelationship", "objectList": list(truck.reload_at)}]
    return entity


def truck_from_entity(entity: EntityDoc) -> Truck:
    what = f"truck {entity.get('id')}"
    depot = _default(entity, REF_DEPOT)
    if depot is None or not isinstance(depot.get("object"), str):
        raise WasteInputError(f"{what} has no refDepot")
    reload = _default(entity, REF_RELOAD)
    targets = reload.get("objectList", []) if reload is not None else []
    max_shift = _value(entity, MAX_SHIFT)
    return Truck(
        id=str(entity["id"]),
        volume_l=int(_number(entity, VOLUME_CAP, what)),
        weight_kg=int(_number(entity, WEIGHT_CAP, what)),
        depot=str(depot["object"]),
        shift_start_s=parse_clock(str(_value(entity, SHIFT_START)), f"{what} shiftStart"),
        shift_end_s=parse_clock(str(_value(entity, SHIFT_END)), f"{what} shiftEnd"),
        max_shift_s=None if max_shift is None else int(_number(entity, MAX_SHIFT, what)),
        reload_at=tuple(str(t) for t in targets),
    )


def site_to_entity(site: WasteSite) -> EntityDoc:
    return {
        "id": site.id,
        "type": [SITE_TYPE],
        SITE_KIND: _prop(site.kind),
        LOCATION: _point(site.lat, site.lon),
        OPENING: _prop(f"{clock(site.open_s)}-{clock(site.close_s)}"),
        SERVICE: _prop(site.service_s, unitCode="SEC"),
    }


def site_from_entity(entity: EntityDoc) -> WasteSite:
    what = f"site {entity.get('id')}"
    lat, lon = _location(entity, what)
    kind = _value(entity, SITE_KIND)
    if kind not in ("depot", "facility"):
        raise WasteInputError(f"{what}: siteKind must be depot or facility (got {kind!r})")
    opening = _value(entity, OPENING)
    open_s, close_s = parse_span(opening, what) if opening is not None else (0, DAY_S)
    return WasteSite(
        id=str(entity["id"]),
        kind=kind,
        lat=lat,
        lon=lon,
        open_s=open_s,
        close_s=close_s,
        service_s=int(_number(entity, SERVICE, what, 0)),
    )


# -- store ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InvalidEntity:
    id: str
    error: str


def save(
    service: EntityService,
    tenant: str,
    items: Sequence[WasteContainer | Truck | WasteSite],
) -> BatchResult:
    """Create or replace the entities of ``items`` in one batch."""
    docs = [
        container_to_entity(i)
        if isinstance(i, WasteContainer)
        else truck_to_entity(i)
        if isinstance(i, Truck)
        else site_to_entity(i)
        for i in items
    ]
    return service.batch_upsert(tenant, docs)


def _all(store: ContextStore, tenant: str, type_iri: str) -> list[EntityDoc]:
    out: list[EntityDoc] = []
    offset = 0
    while True:
        page = store.query_entities(
            tenant, EntityQuery(types=TypeName(type_iri), limit=PAGE, offset=offset)
        ).entities
        out.extend(page)
        if len(page) < PAGE:
            return out
        offset += PAGE


def load_containers(
    store: ContextStore, tenant: str
) -> tuple[list[WasteContainer], list[InvalidEntity]]:
    """Every WasteContainer of the tenant, and those that do not validate (with the reason)."""
    good: list[WasteContainer] = []
    bad: list[InvalidEntity] = []
    for entity in _all(store, tenant, CONTAINER_TYPE):
        try:
            good.append(container_from_entity(entity))
        except WasteInputError as error:
            bad.append(InvalidEntity(str(entity.get("id")), error.detail))
    return good, bad


def load_trucks(store: ContextStore, tenant: str) -> list[Truck]:
    return [truck_from_entity(e) for e in _all(store, tenant, VEHICLE_TYPE)]


def load_sites(store: ContextStore, tenant: str) -> list[WasteSite]:
    return [site_from_entity(e) for e in _all(store, tenant, SITE_TYPE)]
