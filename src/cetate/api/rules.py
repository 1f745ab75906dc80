"""Rules and alerts over HTTP (every role of the tenant reads; operators and admins write).

* ``GET /api/v1/{tenant}/rules`` — ``{"items": [rule…], "invalid": [{"id", "error"}…]}``
  (``invalid``: Rule entities that do not validate, if any were stored around the API);
* ``POST /api/v1/{tenant}/rules`` — create (201; 409 when the id is taken);
* ``GET|PUT|DELETE /api/v1/{tenant}/rules/{rule_id}`` — read, create or replace (the body's
  ``id``, when given, must be the path's), delete (204);
* ``GET /api/v1/{tenant}/alerts?status=open|acknowledged|resolved&limit=`` — newest first;
* ``GET /api/v1/{tenant}/alerts/{alert_id}``;
* ``POST /api/v1/{tenant}/alerts/{alert_id}/acknowledge`` and ``…/resolve`` — 409 when the
  alert's status does not allow it.

Rules are in their JSON form (docs/rules.md), alerts in normalized NGSI-LD with the Alert
``@context``. Ids containing ``:`` (``urn:ngsi-ld:Rule:…``) work in paths, percent-encoded
or not. Every error is a ProblemDetails body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cetate.api.deps import PrincipalDep
from cetate.api.platform import json_object, tenant_to_read, tenant_to_write
from cetate.api.responses import json_response
from cetate.auth.principal import Principal
from cetate.errors import BadRequestData, ResourceNotFound
from cetate.reactions.rules.alerts import ALERT_CONTEXT
from cetate.reactions.rules.model import Rule
from cetate.reactions.rules.service import AlertService, RuleService
from cetate.store.base import ContextStore, Tenant

router = APIRouter(tags=["rules"])

AlertStatusParam = Literal["open", "acknowledged", "resolved"]


def _may_read(principal: Principal, tenant: str) -> str:
    return tenant_to_read(principal, tenant, reading="rules and alerts of tenant")


def _ensure_tenant(request: Request, name: str) -> None:
    """A tenant the principal may write to exists once it has a rule (as on NGSI-LD writes)."""
    store: ContextStore = request.app.state.store
    if store.get_tenant(name) is None:
        store.put_tenant(Tenant(name=name, title=name))


def _rules(request: Request) -> RuleService:
    service: RuleService = request.app.state.rules
    return service


def _alerts(request: Request) -> AlertService:
    service: AlertService = request.app.state.alerts
    return service


def _alert_json(alert: dict[str, Any]) -> dict[str, Any]:
    return {**alert, "@context": list(ALERT_CONTEXT)}


# -- rules --------------------------------------------------------------------------------------


@router.get("/api/v1/{tenant}/rules", summary="The tenant's rules")
async def list_rules(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = _may_read(principal, tenant)
    rules, invalid = await run_in_threadpool(_rules(request).list_all, name)
    return json_response(
        {
            "items": [rule.to_json() for rule in rules],
            "invalid": [{"id": bad.id, "error": bad.error} for bad in invalid],
        }
    )


@router.post("/api/v1/{tenant}/rules", summary="Create a rule", status_code=201)
async def create_rule(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = tenant_to_write(principal, tenant)
    document = await json_object(request, kind="rule")
    rule = await run_in_threadpool(lambda: _rules(request).put(name, document, create_only=True))
    return json_response(rule.to_json(), status_code=201)


@router.get("/api/v1/{tenant}/rules/{rule_id}", summary="One rule")
async def get_rule(
    tenant: str, rule_id: str, principal: PrincipalDep, request: Request
) -> Response:
    name = _may_read(principal, tenant)
    rule = await run_in_threadpool(_rules(request).get, name, rule_id)
    if rule is None:
        raise ResourceNotFound(f"rule {rule_id} does not exist", ruleId=rule_id)
    return json_response(rule.to_json())


@router.put("/api/v1/{tenant}/rules/{rule_id}", summary="Create or replace a rule")
async def put_rule(
    tenant: str, rule_id: str, principal: PrincipalDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant)
    document = await json_object(request, kind="rule")
    given = document.setdefault("id", rule_id)
    if given != rule_id:
        raise BadRequestData(
            f"id: the body's id {given!r} is not the rule id of the path {rule_id!r}",
            errors=["id: must equal the rule id of the path"],
        )

    def put() -> Rule:
        _ensure_tenant(request, name)
        return _rules(request).put(name, document)

    rule = await run_in_threadpool(put)
    return json_response(rule.to_json())


@router.delete("/api/v1/{tenant}/rules/{rule_id}", summary="Delete a rule", status_code=204)
async def delete_rule(
    tenant: str, rule_id: str, principal: PrincipalDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant)
    if not await run_in_threadpool(_rules(request).delete, name, rule_id):
        raise ResourceNotFound(f"rule {rule_id} does not exist", ruleId=rule_id)
    return Response(status_code=204)


# -- alerts -------------------------------------------------------------------------------------


@router.get("/api/v1/{tenant}/alerts", summary="Alerts, newest first")
async def list_alerts(
    tenant: str,
    principal: PrincipalDep,
    request: Request,
    status: AlertStatusParam | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    name = _may_read(principal, tenant)
    alerts = await run_in_threadpool(
        lambda: _alerts(request).list(name, status=status, limit=limit)
    )
    return json_response({"items": [_alert_json(alert) for alert in alerts]})


@router.get("/api/v1/{tenant}/alerts/{alert_id}", summary="One alert")
async def get_alert(
    tenant: str, alert_id: str, principal: PrincipalDep, request: Request
) -> Response:
    name = _may_read(principal, tenant)
    alert = await run_in_threadpool(_alerts(request).get, name, alert_id)
    if alert is None:
        raise ResourceNotFound(f"alert {alert_id} does not exist", entityId=alert_id)
    return json_response(_alert_json(alert))


AlertMove = Callable[[AlertService, str, str, str], dict[str, Any]]


async def _move_alert(
    move: AlertMove, tenant: str, alert_id: str, principal: Principal, request: Request
) -> Response:
    """Acknowledge or resolve (``move``, an AlertService method) an alert, as ``principal``."""
    name = tenant_to_write(principal, tenant)
    alert = await run_in_threadpool(move, _alerts(request), name, alert_id, principal.name)
    return json_response(_alert_json(alert))


@router.post("/api/v1/{tenant}/alerts/{alert_id}/acknowledge", summary="Acknowledge an alert")
async def acknowledge_alert(
    tenant: str, alert_id: str, principal: PrincipalDep, request: Request
) -> Response:
    return await _move_alert(AlertService.acknowledge, tenant, alert_id, principal, request)


@router.post("/api/v1/{tenant}/alerts/{alert_id}/resolve", summary="Resolve an alert")
async def resolve_alert(
    tenant: str, alert_id: str, principal: PrincipalDep, request: Request
) -> Response:
    return await _move_alert(AlertService.resolve, tenant, alert_id, principal, request)
