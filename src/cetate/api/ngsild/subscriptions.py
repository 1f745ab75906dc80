"""``/ngsi-ld/v1/subscriptions``: create, query, retrieve, update and delete NGSI-LD
subscriptions (ETSI GS CIM 009 §5.8, §6.10-§6.11).

Writing needs a role that may write in the tenant (operator or admin); reading needs a role
in the tenant (anonymous callers are refused even for public types: a subscription names
its receiver, and ``receiverInfo`` may carry the receiver's credentials). Subscriptions live
in their tenant only (:mod:`cetate.reactions.subscriptions.repository`).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from cetate.api.deps import (
    JsonMediaDep,
    PayloadDep,
    ReadAccessDep,
    RequestContextDep,
    SettingsDep,
    WriteTenantDep,
)
from cetate.api.ngsild.common import API_PREFIX, page_links
from cetate.api.params import (
    check_entity_id,
    parse_bool,
    parse_limit,
    parse_offset,
    parse_options,
)
from cetate.api.paths import path_segment
from cetate.api.responses import RESULTS_COUNT_HEADER, json_response, no_content
from cetate.errors import BadRequestData, ResourceNotFound
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.subscriptions.model import (
    merge_subscription_patch,
    parse_subscription,
    render_subscription,
)
from cetate.reactions.subscriptions.repository import SubscriptionRepository

router = APIRouter(prefix=API_PREFIX, tags=["NGSI-LD subscriptions"])

SUBSCRIPTION_PATH: Final = "/subscriptions/{subscription_id:segment}"


def get_subscriptions(request: Request) -> SubscriptionRepository:
    repository: SubscriptionRepository = request.app.state.subscriptions
    return repository


SubscriptionsDep = Annotated[SubscriptionRepository, Depends(get_subscriptions)]


def subscription_path_id(
    subscription_id: Annotated[
        str, Path(description="The subscription id (a URI; encode '/' as %2F)")
    ],
) -> str:
    return check_entity_id(subscription_id, "subscription id")


SubscriptionIdPath = Annotated[str, Depends(subscription_path_id)]
OptionsQuery = Annotated[str | None, Query(description="sysAttrs: createdAt and modifiedAt")]


def subscription_url(sub_id: str) -> str:
    return f"{API_PREFIX}/subscriptions/{path_segment(sub_id)}"


@router.post("/subscriptions", status_code=201, summary="Create a subscription")
def create_subscription(
    payload: PayloadDep, tenant: WriteTenantDep, subscriptions: SubscriptionsDep
) -> Response:
    item = payload.object()
    context = payload.context_for(item)
    sub = parse_subscription(item, context, now=utc_now())
    subscriptions.create(tenant, sub)
    return Response(status_code=201, headers={"Location": subscription_url(sub.id)})


@router.get("/subscriptions", summary="Query subscriptions")
def query_subscriptions(
    request: Request,
    access: ReadAccessDep,
    context: RequestContextDep,
    settings: SettingsDep,
    media: JsonMediaDep,
    subscriptions: SubscriptionsDep,
    limit: Annotated[int | None, Query(description="page size (0 with count=true)")] = None,
    offset: Annotated[int | None, Query(description="subscriptions to skip")] = None,
    count: Annotated[str | None, Query(description="true: NGSILD-Results-Count header")] = None,
    options: OptionsQuery = None,
) -> Response:
    access.check(None)
    option_set = parse_options(options, {"sysAttrs", "count"})
    want_count = parse_bool(count, "count") or "count" in option_set
    page_size = parse_limit(limit, want_count, settings)
    skip = parse_offset(offset)
    page = subscriptions.page(access.name, limit=page_size + 1, offset=skip) if page_size else []
    has_more = len(page) > page_size
    page = page[:page_size]
    headers: dict[str, str] = {}
    if want_count:
        total = subscriptions.count(access.name)
        headers[RESULTS_COUNT_HEADER] = str(total)
        has_more = skip + len(page) < total
    now = utc_now()
    body: list[dict[str, Any]] = [
        render_subscription(
            stored.subscription,
            context,
            now=now,
            status=stored.status.public(),
            sys_attrs="sysAttrs" in option_set,
        )
        for stored in page
    ]
    links = page_links(request, limit=page_size, offset=skip, returned=len(page), has_more=has_more)
    return json_response(body, media=media, context=context, headers=headers, links=links)


@router.get(SUBSCRIPTION_PATH, summary="Retrieve a subscription")
def retrieve_subscription(
    subscription_id: SubscriptionIdPath,
    access: ReadAccessDep,
    context: RequestContextDep,
    media: JsonMediaDep,
    subscriptions: SubscriptionsDep,
    options: OptionsQuery = None,
) -> Response:
    access.check(None)
    option_set = parse_options(options, {"sysAttrs"})
    stored = subscriptions.require(access.name, subscription_id)
    body = render_subscription(
        stored.subscription,
        context,
        now=utc_now(),
        status=stored.status.public(),
        sys_attrs="sysAttrs" in option_set,
    )
    return json_response(body, media=media, context=context)


@router.patch(SUBSCRIPTION_PATH, status_code=204, summary="Update a subscription")
def update_subscription(
    subscription_id: SubscriptionIdPath,
    payload: PayloadDep,
    tenant: WriteTenantDep,
    subscriptions: SubscriptionsDep,
) -> Response:
    item = payload.object()
    context = payload.context_for(item)
    if not item:
        raise BadRequestData("the subscription fragment is empty")
    now = utc_now()
    subscriptions.update(
        tenant,
        subscription_id,
        lambda sub: merge_subscription_patch(sub, item, context, now=now),
    )
    return no_content()


@router.delete(SUBSCRIPTION_PATH, status_code=204, summary="Delete a subscription")
def delete_subscription(
    subscription_id: SubscriptionIdPath, tenant: WriteTenantDep, subscriptions: SubscriptionsDep
) -> Response:
    if not subscriptions.delete(tenant, subscription_id):
        raise ResourceNotFound(
            f"subscription {subscription_id} does not exist", subscriptionId=subscription_id
        )
    return no_content()
