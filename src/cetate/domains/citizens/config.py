"""The citizens domain's configuration: Open311 services (categories) per tenant, in Romanian
and English, jurisdictions, and the limits on photos and text.

The defaults ship in ``default_services.json`` next to this module (pothole, broken
streetlight, illegal dumping, overflowing bin, graffiti). A deployment names its own file in
the environment variable ``CETATE_CITIZENS_CONFIG``; it has the same shape::

    {
      "default_language": "ro",
      "jurisdictions": {"oradea.ro": "oradea"},
      "services": [ ...services every tenant offers... ],
      "tenants": {"oradea": {"services": [ ...this tenant's own list... ]}},
      "limits": {"max_photo_bytes": 8000000, "max_photo_dimension": 1600}
    }

A tenant with its own ``services`` list offers exactly that list; every other tenant offers the
top-level list. A service::

    {"service_code": "pothole", "service_name": {"ro": "…", "en": "…"},
     "description": {"ro": "…", "en": "…"}, "group": {"ro": "…", "en": "…"},
     "keywords": ["…"], "type": "realtime",
     "attributes": [{"code": "size", "datatype": "singlevaluelist", "required": false,
                     "order": 1, "description": {"ro": "…", "en": "…"},
                     "values": [{"key": "small", "name": {"ro": "…", "en": "…"}}]}]}

Bad files fail loudly (:class:`ConfigError`) when the domain starts, naming the bad part.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, get_args

CONFIG_ENV: Final = "CETATE_CITIZENS_CONFIG"
LANGUAGES: Final = ("ro", "en")
SERVICE_CODE_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
ATTRIBUTE_CODE_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
ServiceType = Literal["realtime", "batch", "blackbox"]
DATATYPES: Final[tuple[str, ...]] = get_args(Datatype)
SERVICE_TYPES: Final[tuple[str, ...]] = get_args(ServiceType)


class ConfigError(ValueError):
    """The citizens configuration is not valid; the message names the bad part."""


Texts = Mapping[str, str]
"""language code → text; English is the fallback, then any language"""


def pick(texts: Texts, lang: str) -> str:
    """The text in ``lang``, else English, else the first one, else empty."""
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


@dataclass(frozen=True, slots=True)
class AttributeValue:
    key: str
    name: Texts


@dataclass(frozen=True, slots=True)
class ServiceAttribute:
    """One Open311 attribute of a service definition."""

    code: str
    datatype: Datatype
    required: bool
    order: int
    description: Texts
    values: tuple[AttributeValue, ...] = ()
    variable: bool = True
    datatype_description: Texts = field(default_factory=dict)

    def value_keys(self) -> frozenset[str]:
        return frozenset(value.key for value in self.values)


@dataclass(frozen=True, slots=True)
class Sla:
    """Service level targets of a category, in hours from the report's arrival."""

    acknowledge_hours: float
    resolve_hours: float


@dataclass(frozen=True, slots=True)
class Department:
    """A city department that handles reports: of its ``categories`` (service codes; empty
    means every category), and, when it has an ``area``, only inside it (a GeoJSON Polygon
    or MultiPolygon, lon/lat)."""

    id: str
    name: Texts
    email: str | None = None
    categories: frozenset[str] = frozenset()
    area: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class DuplicateRule:
    """A new report is a likely duplicate of an open report of the same category within
    ``radius_m`` metres that arrived at most ``window_hours`` before it."""

    radius_m: float = 50.0
    window_hours: float = 72.0


@dataclass(frozen=True, slots=True)
class Service:
    """One Open311 service (a category of report)."""

    service_code: str
    service_name: Texts
    description: Texts
    group: Texts
    keywords: tuple[str, ...] = ()
    type: ServiceType = "realtime"
    attributes: tuple[ServiceAttribute, ...] = ()
    sla: Sla | None = None
    """how fast staff should acknowledge and resolve reports of this category"""

    @property
    def metadata(self) -> bool:
        """Open311 ``metadata``: whether the service has attributes to fetch."""
        return bool(self.attributes)


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds on what a report may carry."""

    max_photo_bytes: int = 8_000_000
    """the largest photo upload accepted, in bytes"""
    max_photo_dimension: int = 1600
    """photos are scaled down so that neither side exceeds this, in pixels"""
    max_photo_pixels: int = 40_000_000
    """a photo whose header declares more pixels is refused before it is decoded"""
    max_description: int = 4000
    """characters of ``description`` (the Open311 specification's limit)"""
    max_short_text: int = 500
    """characters of ``address_string``, ``address_id``, attribute values, notes"""
    max_name: int = 100
    """characters of ``first_name`` and ``last_name``"""
    max_page_size: int = 1000
    submissions_per_window: int = 10
    """reports one client (an app key, or an IP address on the public form) may submit per
    :attr:`submission_window_seconds`; more are refused (429)"""
    submission_window_seconds: int = 60
    retention_days: int = 365
    """days after a report is finished (resolved, closed, rejected) before its reporter's
    personal data is erased (the ``citizens.retention`` job)"""


@dataclass(frozen=True, slots=True)
class CitizensConfig:
    """Services per tenant, jurisdictions and limits."""

    services: tuple[Service, ...]
    tenant_services: Mapping[str, tuple[Service, ...]] = field(default_factory=dict)
    jurisdictions: Mapping[str, str] = field(default_factory=dict)
    """Open311 ``jurisdiction_id`` → tenant name (a tenant's own name always works too)"""
    default_language: str = "ro"
    limits: Limits = field(default_factory=Limits)
    departments: tuple[Department, ...] = ()
    tenant_departments: Mapping[str, tuple[Department, ...]] = field(default_factory=dict)
    duplicates: DuplicateRule = field(default_factory=DuplicateRule)

    def services_for(self, tenant: str) -> tuple[Service, ...]:
        return self.tenant_services.get(tenant, self.services)

    def departments_for(self, tenant: str) -> tuple[Department, ...]:
        """The tenant's own departments when it has a list, else the top-level ones."""
        return self.tenant_departments.get(tenant, self.departments)

    def department(self, tenant: str, department_id: str) -> Department | None:
        for department in self.departments_for(tenant):
            if department.id == department_id:
                return department
        return None

    def service(self, tenant: str, service_code: str) -> Service | None:
        for service in self.services_for(tenant):
            if service.service_code == service_code:
                return service
        return None


# -- parsing ----------------------------------------------------------------------------------


def _texts(raw: Any, where: str, *, required: bool = True) -> dict[str, str]:
    if raw is None and not required:
        return {}
    if isinstance(raw, str):
        return {"en": raw}
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{where}: expected texts per language such as {{'ro': …, 'en': …}}")
    out: dict[str, str] = {}
    for lang, text in raw.items():
        if not isinstance(lang, str) or not isinstance(text, str):
            raise ConfigError(f"{where}: every language code and text must be a string")
        out[lang] = text
    return out


def _attribute(raw: Any, where: str) -> ServiceAttribute:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: an attribute must be an object")
    code = raw.get("code")
    if not isinstance(code, str) or not ATTRIBUTE_CODE_RE.fullmatch(code):
        raise ConfigError(f"{where}: code {code!r} must be 1-64 letters, digits, '_' or '-'")
    datatype = raw.get("datatype", "string")
    if datatype not in DATATYPES:
        raise ConfigError(f"{where}: datatype {datatype!r} is not one of {', '.join(DATATYPES)}")
    values: list[AttributeValue] = []
    for index, value in enumerate(raw.get("values") or []):
        if not isinstance(value, Mapping) or not isinstance(value.get("key"), str | int):
            raise ConfigError(f"{where}.values[{index}]: needs a key")
        values.append(
            AttributeValue(str(value["key"]), _texts(value.get("name"), f"{where}.values"))
        )
    if datatype in ("singlevaluelist", "multivaluelist") and not values:
        raise ConfigError(f"{where}: a {datatype} needs values")
    order = raw.get("order", 1)
    if not isinstance(order, int):
        raise ConfigError(f"{where}: order must be an integer")
    return ServiceAttribute(
        code=code,
        datatype=datatype,
        required=bool(raw.get("required", False)),
        order=order,
        description=_texts(raw.get("description"), f"{where}.description"),
        values=tuple(values),
        variable=bool(raw.get("variable", True)),
        datatype_description=_texts(
            raw.get("datatype_description"), f"{where}.datatype_description", required=False
        ),
    )


def _service(raw: Any, where: str) -> Service:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: a service must be an object")
    code = raw.get("service_code")
    if not isinstance(code, str) or not SERVICE_CODE_RE.fullmatch(code):
        raise ConfigError(
            f"{where}: service_code {code!r} must be 1-64 letters, digits, '_', '.' or '-'"
        )
    kind = raw.get("type", "realtime")
    if kind not in SERVICE_TYPES:
        raise ConfigError(f"{where}: type {kind!r} is not one of {', '.join(SERVICE_TYPES)}")
    keywords = raw.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise ConfigError(f"{where}: keywords must be a list of strings")
    attributes = tuple(
        _attribute(item, f"{where}.attributes[{index}]")
        for index, item in enumerate(raw.get("attributes") or [])
    )
    codes = [attribute.code for attribute in attributes]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"{where}: attribute codes repeat")
    return Service(
        sla=_sla(raw.get("sla"), f"{where}.sla"),
        service_code=code,
        service_name=_texts(raw.get("service_name"), f"{where}.service_name"),
        description=_texts(raw.get("description"), f"{where}.description"),
        group=_texts(raw.get("group"), f"{where}.group", required=False),
        keywords=tuple(keywords),
        type=kind,
        attributes=attributes,
    )


def _positive_number(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw < 1e6:
        raise ConfigError(f"{where}: expected a positive number")
    return float(raw)


def _sla(raw: Any, where: str) -> Sla | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected {{'acknowledge_hours': …, 'resolve_hours': …}}")
    unknown = set(raw) - {"acknowledge_hours", "resolve_hours"}
    if unknown:
        raise ConfigError(f"{where}: unknown member(s) {', '.join(sorted(unknown))}")
    sla = Sla(
        acknowledge_hours=_positive_number(
            raw.get("acknowledge_hours"), f"{where}.acknowledge_hours"
        ),
        resolve_hours=_positive_number(raw.get("resolve_hours"), f"{where}.resolve_hours"),
    )
    if sla.resolve_hours < sla.acknowledge_hours:
        raise ConfigError(f"{where}: resolve_hours is less than acknowledge_hours")
    return sla


def _department(raw: Any, where: str) -> Department:
    from cetate.domains.citizens.areas import AreaError, check_area

    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: a department must be an object")
    ident = raw.get("id")
    if not isinstance(ident, str) or not SERVICE_CODE_RE.fullmatch(ident):
        raise ConfigError(f"{where}: id {ident!r} must be 1-64 letters, digits, '_', '.' or '-'")
    email = raw.get("email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        raise ConfigError(f"{where}: email {email!r} is not an e-mail address")
    categories = raw.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise ConfigError(f"{where}: categories must be a list of service codes")
    area = raw.get("area")
    if area is not None:
        try:
            area = check_area(area)
        except AreaError as exc:
            raise ConfigError(f"{where}.area: {exc}") from None
    return Department(
        id=ident,
        name=_texts(raw.get("name"), f"{where}.name"),
        email=email,
        categories=frozenset(categories),
        area=area,
    )


def _departments(raw: Any, where: str, services: Sequence[Service]) -> tuple[Department, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ConfigError(f"{where}: expected a list of departments")
    departments = tuple(_department(item, f"{where}[{index}]") for index, item in enumerate(raw))
    ids = [department.id for department in departments]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{where}: department ids repeat")
    known = {service.service_code for service in services}
    for index, department in enumerate(departments):
        unknown = sorted(department.categories - known)
        if unknown:
            raise ConfigError(
                f"{where}[{index}].categories: {', '.join(map(repr, unknown))} not among the "
                "services"
            )
    return departments


def _duplicates(raw: Any) -> DuplicateRule:
    if raw is None:
        return DuplicateRule()
    if not isinstance(raw, Mapping):
        raise ConfigError("duplicates: expected {'radius_m': …, 'window_hours': …}")
    unknown = set(raw) - {"radius_m", "window_hours"}
    if unknown:
        raise ConfigError(f"duplicates: unknown member(s) {', '.join(sorted(unknown))}")
    default = DuplicateRule()
    return DuplicateRule(
        radius_m=_positive_number(raw.get("radius_m", default.radius_m), "duplicates.radius_m"),
        window_hours=_positive_number(
            raw.get("window_hours", default.window_hours), "duplicates.window_hours"
        ),
    )


def _services(raw: Any, where: str) -> tuple[Service, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ConfigError(f"{where}: expected a list of services")
    services = tuple(_service(item, f"{where}[{index}]") for index, item in enumerate(raw))
    codes = [service.service_code for service in services]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"{where}: service codes repeat")
    return services


def _limits(raw: Any) -> Limits:
    if raw is None:
        return Limits()
    if not isinstance(raw, Mapping):
        raise ConfigError("limits: expected an object")
    known = set(Limits.__dataclass_fields__)
    values: dict[str, int] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"limits: unknown limit {key!r}; known: {', '.join(sorted(known))}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"limits.{key}: expected a positive integer")
        values[key] = value
    return Limits(**values)


def parse_config(raw: Any) -> CitizensConfig:
    """A :class:`CitizensConfig` from the decoded JSON document."""
    if not isinstance(raw, Mapping):
        raise ConfigError("the citizens configuration must be a JSON object")
    tenants_raw = raw.get("tenants") or {}
    if not isinstance(tenants_raw, Mapping):
        raise ConfigError("tenants: expected an object of tenant name → settings")
    tenant_services = {
        str(name): _services(
            (spec or {}).get("services", []) if isinstance(spec, Mapping) else None,
            f"tenants.{name}.services",
        )
        for name, spec in tenants_raw.items()
        if not isinstance(spec, Mapping) or "services" in spec
    }
    jurisdictions = raw.get("jurisdictions") or {}
    if not isinstance(jurisdictions, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in jurisdictions.items()
    ):
        raise ConfigError("jurisdictions: expected an object of jurisdiction_id → tenant name")
    language = raw.get("default_language", "ro")
    if language not in LANGUAGES:
        raise ConfigError(f"default_language {language!r} is not one of {', '.join(LANGUAGES)}")
    services = _services(raw.get("services", []), "services")
    tenant_departments = {
        str(name): _departments(
            spec.get("departments"),
            f"tenants.{name}.departments",
            tenant_services.get(str(name), services),
        )
        for name, spec in tenants_raw.items()
        if isinstance(spec, Mapping) and spec.get("departments") is not None
    }
    return CitizensConfig(
        services=services,
        departments=_departments(raw.get("departments"), "departments", services),
        tenant_departments=tenant_departments,
        duplicates=_duplicates(raw.get("duplicates")),
        tenant_services=tenant_services,
        jurisdictions=dict(jurisdictions),
        default_language=language,
        limits=_limits(raw.get("limits")),
    )


def default_config() -> CitizensConfig:
    """The configuration shipped with the package."""
    text = resources.files(__package__ or "cetate.domains.citizens").joinpath(
        "default_services.json"
    )
    return parse_config(json.loads(text.read_text("utf-8")))


def load_config(path: str | Path | None = None) -> CitizensConfig:
    """The configuration in ``path``, else in the file named by ``CETATE_CITIZENS_CONFIG``,
    else the defaults."""
    chosen = path if path is not None else os.environ.get(CONFIG_ENV)
    if not chosen:
        return default_config()
    file = Path(chosen)
    try:
        raw = json.loads(file.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the citizens configuration {file}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file} is not valid JSON: {exc}") from None
    return parse_config(raw)
