"""``/ngsi-ld/v1/temporal/entities``: attribute history, raw or aggregated (§6.18-§6.19).

Three representations: normalized (every instance in full), ``temporalValues``
(``[[value, time], …]`` per attribute) and ``aggregatedValues``
(``{"avg": [[value, start, end], …], …}`` per attribute).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, get_args

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from cetate.api.deps import (
    JsonMediaDep,
    ReadAccessDep,
    RequestContextDep,
    SettingsDep,
    StoreDep,
)
from cetate.api.ngsild.common import (
    API_PREFIX,
    ENTITY_PATH,
    EntityIdPath,
    EntitySelectionDep,
    page_links,
    readable_entity,
    readable_query,
)
from cetate.api.params import (
    parse_attrs,
    parse_bool,
    parse_limit,
    parse_offset,
    parse_options,
    split_list,
)
from cetate.api.responses import RESULTS_COUNT_HEADER, json_response
from cetate.errors import BadRequestData, CetateError, InvalidRequest
from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.model import VALUE_KEYS, AttributeInstance
from cetate.ngsi.representation import render_entity
from cetate.ngsi.timestamps import parse_datetime, parse_duration
from cetate.store.base import (
    AggregateMethod,
    EntityQuery,
    TemporalEntity,
    TemporalQuery,
    TimeProperty,
    Timerel,
)

router = APIRouter(prefix=f"{API_PREFIX}/temporal", tags=["NGSI-LD temporal"])

TEMPORAL_OPTIONS: Final = frozenset({"temporalValues", "aggregatedValues", "sysAttrs", "count"})
AGGREGATE_METHODS: Final[tuple[str, ...]] = get_args(AggregateMethod)
TIMERELS: Final[tuple[str, ...]] = get_args(Timerel)
TIME_PROPERTIES: Final[tuple[str, ...]] = get_args(TimeProperty)


@dataclasses.dataclass(frozen=True, slots=True)
class TemporalParams:
    timerel: str | None
    time_at: str | None
    end_time_at: str | None
    timeproperty: str | None
    last_n: int | None
    aggr_methods: str | None
    aggr_period: str | None
    options: str | None

    def option_set(self) -> set[str]:
        return parse_options(self.options, TEMPORAL_OPTIONS)

    def mode(self) -> str:
        """The representation asked for: normalized, temporalValues or aggregatedValues."""
        option_set = self.option_set()
        if {"temporalValues", "aggregatedValues"} <= option_set:
            raise InvalidRequest("options temporalValues and aggregatedValues exclude each other")
        if "aggregatedValues" in option_set:
            return "aggregatedValues"
        if "temporalValues" in option_set:
            return "temporalValues"
        return "normalized"

    def to_query(
        self, entities: EntityQuery, attrs: frozenset[str] | None, option_set: set[str]
    ) -> TemporalQuery:
        timerel = self.timerel
        time_at: datetime | None = None
        end_time_at: datetime | None = None
        if timerel is not None:
            if timerel not in TIMERELS:
                raise InvalidRequest(f"timerel {timerel!r} is not one of {', '.join(TIMERELS)}")
            if self.time_at is None:
                raise InvalidRequest(f"timerel={timerel} needs timeAt")
            time_at = _datetime(self.time_at, "timeAt")
            if timerel == "between":
                if self.end_time_at is None:
                    raise InvalidRequest("timerel=between needs endTimeAt")
                end_time_at = _datetime(self.end_time_at, "endTimeAt")
                if end_time_at <= time_at:
                    raise BadRequestData("endTimeAt must be later than timeAt")
            elif self.end_time_at is not None:
                raise InvalidRequest("endTimeAt is only allowed with timerel=between")
        elif self.time_at is not None or self.end_time_at is not None:
            raise InvalidRequest("timeAt and endTimeAt need timerel (before, after or between)")
        timeproperty = self.timeproperty or "observedAt"
        if timeproperty not in TIME_PROPERTIES:
            raise InvalidRequest(
                f"timeproperty {timeproperty!r} is not one of {', '.join(TIME_PROPERTIES)}"
            )
        if self.last_n is not None and self.last_n < 1:
            raise InvalidRequest(f"lastN must be a positive integer, not {self.last_n}")
        methods: tuple[str, ...] = ()
        period: timedelta | None = None
        if "aggregatedValues" in option_set:
            methods = tuple(dict.fromkeys(split_list(self.aggr_methods)))
            if not methods:
                raise InvalidRequest(
                    "options=aggregatedValues needs aggrMethods, e.g. aggrMethods=avg,max"
                )
            unknown = [m for m in methods if m not in AGGREGATE_METHODS]
            if unknown:
                raise InvalidRequest(
                    f"unknown aggrMethods {', '.join(unknown)}: use {', '.join(AGGREGATE_METHODS)}"
                )
            if self.aggr_period is not None:
                period = _duration(self.aggr_period)
        elif self.aggr_methods is not None or self.aggr_period is not None:
            raise InvalidRequest("aggrMethods and aggrPeriodDuration need options=aggregatedValues")
        return TemporalQuery(
            entities=entities,
            timerel=timerel,  # type: ignore[arg-type]
            time_at=time_at,
            end_time_at=end_time_at,
            timeproperty=timeproperty,  # type: ignore[arg-type]
            attrs=attrs,
            last_n=self.last_n,
            aggr_methods=methods,  # type: ignore[arg-type]
            aggr_period=period,
        )


def _datetime(text: str, parameter: str) -> datetime:
    try:
        return parse_datetime(text)
    except CetateError as exc:
        raise InvalidRequest(
            f"{parameter} {text!r} is not an ISO 8601 date-time: {exc.detail}"
        ) from None
    except ValueError as exc:
        raise InvalidRequest(f"{parameter} {text!r} is not an ISO 8601 date-time: {exc}") from None


def _duration(text: str) -> timedelta:
    try:
        period = parse_duration(text)
    except CetateError as exc:
        raise InvalidRequest(f"aggrPeriodDuration {text!r}: {exc.detail}") from None
    except ValueError as exc:
        raise InvalidRequest(f"aggrPeriodDuration {text!r}: {exc}") from None
    if period < timedelta(milliseconds=1):
        raise InvalidRequest(
            f"aggrPeriodDuration {text!r} must be positive (at least 1 ms), e.g. PT1H"
        )
    return period


def _compact_types(types: Sequence[str], context: LdContext) -> Any:
    compacted = [context.compact_iri(name) for name in types]
    return compacted[0] if len(compacted) == 1 else compacted


def _render_instance(
    entity: TemporalEntity,
    attr: str,
    instance: AttributeInstance,
    context: LdContext,
    sys_attrs: bool,
) -> tuple[str, dict[str, Any]]:
    doc = {"id": entity.id, "type": entity.types, attr: [instance]}
    rendered = render_entity(doc, context, representation="normalized", sys_attrs=sys_attrs)
    for key, value in rendered.items():
        if key in ("id", "type", "scope", "createdAt", "modifiedAt", "@context"):
            continue
        if isinstance(value, list):
            value = value[0] if value else {}
        return key, dict(value)
    return context.compact_iri(attr), dict(instance)


def render_temporal(
    entity: TemporalEntity,
    context: LdContext,
    *,
    mode: str,
    timeproperty: str,
    sys_attrs: bool,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": entity.id,
        "type": _compact_types(entity.types, context),
    }
    if mode == "aggregatedValues":
        for attr, methods in entity.aggregates.items():
            item: dict[str, Any] = {"type": "Property"}
            for method, buckets in methods.items():
                item[method] = [list(bucket) for bucket in buckets]
            body[context.compact_iri(attr)] = item
        return body
    for attr, instances in entity.history.items():
        if mode == "temporalValues":
            body[context.compact_iri(attr)] = _temporal_values(instances, timeproperty)
            continue
        rendered: list[dict[str, Any]] = []
        key = context.compact_iri(attr)
        for instance in instances:
            key, item = _render_instance(entity, attr, instance, context, sys_attrs)
            rendered.append(item)
        body[key] = rendered
    return body


def _temporal_values(
    instances: Sequence[AttributeInstance], timeproperty: str
) -> dict[str, Any] | list[dict[str, Any]]:
    """The simplified temporal representation: one object per (type, datasetId)."""
    groups: dict[tuple[str, str | None], dict[str, Any]] = {}
    for instance in instances:
        attr_type = str(instance.get("type", "Property"))
        value_key = VALUE_KEYS.get(attr_type, "value")
        list_key = value_key + "s"  # values, objects, languageMaps, valueLists …
        dataset_id = instance.get("datasetId")
        group = groups.get((attr_type, dataset_id))
        if group is None:
            group = {"type": attr_type, list_key: []}
            if dataset_id is not None:
                group["datasetId"] = dataset_id
            groups[(attr_type, dataset_id)] = group
        moment = instance.get(timeproperty) or instance.get("observedAt")
        group[list_key].append([instance.get(value_key), moment])
    values = list(groups.values())
    return values[0] if len(values) == 1 else values


TimerelQuery = Annotated[str | None, Query(description="before, after or between")]
TimeAtQuery = Annotated[str | None, Query(alias="timeAt", description="ISO 8601 date-time")]
EndTimeAtQuery = Annotated[
    str | None, Query(alias="endTimeAt", description="ISO 8601 date-time (between)")
]
TimepropertyQuery = Annotated[
    str | None, Query(description="observedAt (default), createdAt or modifiedAt")
]
LastNQuery = Annotated[
    int | None, Query(alias="lastN", description="only the newest N instances per attribute")
]
AggrMethodsQuery = Annotated[
    str | None,
    Query(
        alias="aggrMethods",
        description="totalCount, distinctCount, sum, avg, min, max, stddev (comma-separated)",
    ),
]
AggrPeriodQuery = Annotated[
    str | None,
    Query(alias="aggrPeriodDuration", description="ISO 8601 duration, e.g. PT1H"),
]
TemporalOptionsQuery = Annotated[
    str | None, Query(description="temporalValues, aggregatedValues, sysAttrs")
]


def temporal_params(
    timerel: TimerelQuery = None,
    time_at: TimeAtQuery = None,
    end_time_at: EndTimeAtQuery = None,
    timeproperty: TimepropertyQuery = None,
    last_n: LastNQuery = None,
    aggr_methods: AggrMethodsQuery = None,
    aggr_period: AggrPeriodQuery = None,
    options: TemporalOptionsQuery = None,
) -> TemporalParams:
    """The temporal query parameters of both temporal routes."""
    return TemporalParams(
        timerel, time_at, end_time_at, timeproperty, last_n, aggr_methods, aggr_period, options
    )


TemporalParamsDep = Annotated[TemporalParams, Depends(temporal_params)]


@router.get("/entities", summary="Query entity history")
def query_temporal(
    request: Request,
    access: ReadAccessDep,
    context: RequestContextDep,
    store: StoreDep,
    settings: SettingsDep,
    media: JsonMediaDep,
    selection: EntitySelectionDep,
    temporal: TemporalParamsDep,
    limit: int | None = None,
    offset: int | None = None,
    count: str | None = None,
) -> Response:
    option_set = temporal.option_set()
    mode = temporal.mode()
    want_count = parse_bool(count, "count") or "count" in option_set
    page_size = parse_limit(limit, want_count, settings)
    skip = parse_offset(offset)
    entity_query = readable_query(
        selection, context, access, limit=page_size, offset=skip, count=want_count
    )
    query = temporal.to_query(entity_query, entity_query.attrs, option_set)
    results = store.query_temporal(access.name, query) if page_size > 0 else []
    body = [
        render_temporal(
            entity,
            context,
            mode=mode,
            timeproperty=query.timeproperty,
            sys_attrs="sysAttrs" in option_set,
        )
        for entity in results
    ]
    headers: dict[str, str] = {}
    total: int | None = None
    if want_count:
        total = store.query_entities(
            access.name, dataclasses.replace(entity_query, limit=0, count=True)
        ).total
        if total is not None:
            headers[RESULTS_COUNT_HEADER] = str(total)
    has_more = len(results) >= page_size if total is None else skip + len(results) < total
    links = page_links(
        request, limit=page_size, offset=skip, returned=len(results), has_more=has_more
    )
    return json_response(body, media=media, context=context, headers=headers, links=links)


@router.get(ENTITY_PATH, summary="Retrieve one entity's history")
def retrieve_temporal(
    entity_id: EntityIdPath,
    access: ReadAccessDep,
    context: RequestContextDep,
    store: StoreDep,
    media: JsonMediaDep,
    temporal: TemporalParamsDep,
    attrs: Annotated[str | None, Query(description="attributes whose history to return")] = None,
) -> Response:
    option_set = temporal.option_set()
    mode = temporal.mode()
    current = readable_entity(store, access, entity_id)
    history_attrs = parse_attrs(attrs, context)
    query = temporal.to_query(EntityQuery(ids=(entity_id,), limit=1), history_attrs, option_set)
    results = store.query_temporal(access.name, query)
    entity = results[0] if results else TemporalEntity(id=entity_id, types=current["type"])
    body = render_temporal(
        entity,
        context,
        mode=mode,
        timeproperty=query.timeproperty,
        sys_attrs="sysAttrs" in option_set,
    )
    return json_response(body, media=media, context=context)
