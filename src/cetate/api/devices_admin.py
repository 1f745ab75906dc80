"""Device provisioning over HTTP: devices, their credentials and device profiles of a tenant.

========================================================  ======================================
route                                                     who
========================================================  ======================================
``GET /api/v1/{tenant}/devices``, ``…/devices/{device}``  viewer, operator, admin
``POST /api/v1/{tenant}/devices`` (a DeviceSpec)          admin — 201 with the secrets, once
``POST …/devices/{device}/rotate``                        admin — 200 with the new secrets, once
``POST …/devices/{device}/revoke``                        admin
``DELETE …/devices/{device}``                             admin
``PUT …/devices/{device}/profile`` (``{"profile": …}``)   operator, admin
``GET /api/v1/{tenant}/profiles``, ``…/profiles/{name}``  viewer, operator, admin
``PUT …/profiles/{name}``, ``DELETE …/profiles/{name}``   operator, admin
========================================================  ======================================

Operations that issue or withdraw credentials are for admins only: a device secret lets its
holder write that device's data into the tenant, so handing them out is administration (like
API tokens), not data entry. Operators manage profiles and which profile a device uses, which
changes how data is mapped but grants nobody access.

No answer ever contains a secret or a hash, except the answer to provisioning and rotation,
which carries the new secrets once. Every error is a ProblemDetails body.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cetate.api.deps import PrincipalDep
from cetate.api.platform import (
    json_object,
    path_name,
    tenant_to_administer,
    tenant_to_read,
    tenant_to_write,
)
from cetate.api.responses import json_response
from cetate.auth.principal import Principal
from cetate.errors import BadRequestData, CetateError, ResourceNotFound
from cetate.ingest.devices.credentials import DeviceCredentialRecord, IssuedCredentials
from cetate.ingest.devices.model import (
    DEVICE_ID_RE,
    PROFILE_NAME_RE,
    TRANSPORTS,
    DeviceSpec,
    Transport,
    device_entity_id,
    parse_device_spec,
)
from cetate.ingest.devices.service import DeviceInfo, DeviceService
from cetate.ingest.profiles import DeviceProfile

router = APIRouter(tags=["devices"])


class InUse(CetateError):
    """The resource is still referenced (a profile that devices use)."""

    status: ClassVar[int] = 409
    problem_type = "urn:cetate:errors:Conflict"
    title = "In use"


# -- access -------------------------------------------------------------------------------------


def _may_read(principal: Principal, tenant: str) -> str:
    return tenant_to_read(principal, tenant, reading="devices in tenant")


def _device_id(device: str) -> str:
    return path_name(
        device,
        DEVICE_ID_RE,
        "device id",
        "use 1-64 ASCII letters, digits, '_' or '-', starting with a letter or digit",
    )


def _profile_name(name: str) -> str:
    return path_name(
        name,
        PROFILE_NAME_RE,
        "profile name",
        "use 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit",
    )


def _service(request: Request) -> DeviceService:
    service: DeviceService = request.app.state.devices
    return service


# -- bodies -------------------------------------------------------------------------------------


def _only_keys(data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BadRequestData(
            f"unknown member(s) {', '.join(repr(k) for k in unknown)}; allowed: "
            f"{', '.join(allowed)}",
            problems=[f"{key}: unknown field; remove it or check its spelling" for key in unknown],
        )


# -- representations ------------------------------------------------------------------------------


def _time(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def device_json(info: DeviceInfo, record: DeviceCredentialRecord | None) -> dict[str, Any]:
    """A device as the API shows it: never a secret, never a hash."""
    state = "no-credentials" if record is None else ("revoked" if record.revoked else "active")
    body: dict[str, Any] = {
        "deviceId": info.device,
        "profile": info.profile,
        "entityId": info.entity_id,
        "deviceEntityId": device_entity_id(info.tenant, info.device),
        "createdAt": info.created_at,
        "credentials": state,
    }
    if record is not None:
        body.update(
            {
                "transport": record.transport,
                "mqttUsername": record.mqtt_username
                if record.mqtt_password_hash is not None
                else None,
                "certFingerprint": record.cert_fingerprint,
                "credentialsIssuedAt": _time(record.created_at),
                "rotatedAt": _time(record.rotated_at),
                "revokedAt": _time(record.revoked_at),
            }
        )
    return body


def _secrets_json(issued: IssuedCredentials) -> dict[str, Any]:
    return {
        "httpToken": issued.http_token,
        "mqttUsername": issued.mqtt_username,
        "mqttPassword": issued.mqtt_password,
        "notice": "These secrets are shown once and cannot be retrieved again; store them now.",
    }


def _profile_json(profile: DeviceProfile) -> dict[str, Any]:
    data: dict[str, Any] = profile.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


def _no_device(tenant: str, device: str) -> ResourceNotFound:
    return ResourceNotFound(f"tenant {tenant!r} has no device {device!r}")


def _one_device(service: DeviceService, tenant: str, device: str) -> dict[str, Any]:
    info = service.get_device(tenant, device)
    if info is None:
        raise _no_device(tenant, device)
    record = service.credentials.registry.get_credentials(tenant, device)
    return device_json(info, record)


_NO_STORE = {"Cache-Control": "no-store"}

# -- devices ------------------------------------------------------------------------------------


@router.get("/api/v1/{tenant}/devices", summary="A tenant's devices (no secrets)")
def list_devices(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = _may_read(principal, tenant)
    service = _service(request)
    records = {r.device: r for r in service.credentials.registry.list_credentials(name)}
    items = [device_json(info, records.get(info.device)) for info in service.list_devices(name)]
    return json_response({"items": items})


@router.get("/api/v1/{tenant}/devices/{device}", summary="One device (no secrets)")
def get_device(tenant: str, device: str, principal: PrincipalDep, request: Request) -> Response:
    name = _may_read(principal, tenant)
    return json_response(_one_device(_service(request), name, _device_id(device)))


@router.post(
    "/api/v1/{tenant}/devices",
    status_code=201,
    summary="Provision a device (admin); the answer carries its secrets, once",
)
async def provision_device(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = tenant_to_administer(principal, tenant)
    spec: DeviceSpec = parse_device_spec(await json_object(request))
    service = _service(request)

    def provision() -> dict[str, Any]:
        issued = service.provision(name, spec)
        return {**_one_device(service, name, spec.device_id), **_secrets_json(issued)}

    body = await run_in_threadpool(provision)
    return json_response(
        body,
        status_code=201,
        headers={**_NO_STORE, "Location": f"/api/v1/{name}/devices/{spec.device_id}"},
    )


@router.post(
    "/api/v1/{tenant}/devices/{device}/rotate",
    summary="New secrets for a device (admin); the old ones stop working at once",
)
async def rotate_device(
    tenant: str, device: str, principal: PrincipalDep, request: Request
) -> Response:
    name = tenant_to_administer(principal, tenant)
    device_id = _device_id(device)
    data = await json_object(request, optional=True)
    _only_keys(data, ("transport",))
    transport = data.get("transport")
    if transport is not None and transport not in TRANSPORTS:
        raise BadRequestData(f"unknown transport {transport!r}: use mqtt, http or both")
    service = _service(request)

    def rotate() -> dict[str, Any]:
        if service.get_device(name, device_id) is None:
            raise _no_device(name, device_id)
        chosen: Transport | None = transport
        issued = service.rotate(name, device_id, transport=chosen)
        return {**_one_device(service, name, device_id), **_secrets_json(issued)}

    return json_response(await run_in_threadpool(rotate), headers=_NO_STORE)


@router.post(
    "/api/v1/{tenant}/devices/{device}/revoke",
    summary="Revoke a device's credentials (admin), at once",
)
def revoke_device(tenant: str, device: str, principal: PrincipalDep, request: Request) -> Response:
    name = tenant_to_administer(principal, tenant)
    device_id = _device_id(device)
    service = _service(request)
    if service.get_device(name, device_id) is None:
        raise _no_device(name, device_id)
    service.revoke(name, device_id)
    return json_response(_one_device(service, name, device_id))


@router.put(
    "/api/v1/{tenant}/devices/{device}/profile",
    summary="Assign another profile to a device (operator)",
)
async def assign_profile(
    tenant: str, device: str, principal: PrincipalDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant)
    device_id = _device_id(device)
    data = await json_object(request)
    _only_keys(data, ("profile",))
    profile = data.get("profile")
    if not isinstance(profile, str):
        raise BadRequestData('the body must be {"profile": "<profile name>"}')
    _profile_name(profile)
    service = _service(request)

    def assign() -> dict[str, Any]:
        service.assign_profile(name, device_id, profile)
        return _one_device(service, name, device_id)

    return json_response(await run_in_threadpool(assign))


@router.delete(
    "/api/v1/{tenant}/devices/{device}",
    status_code=204,
    summary="Delete a device: credentials, record and Device entity (admin)",
)
def delete_device(tenant: str, device: str, principal: PrincipalDep, request: Request) -> Response:
    name = tenant_to_administer(principal, tenant)
    device_id = _device_id(device)
    if not _service(request).delete(name, device_id):
        raise _no_device(name, device_id)
    return Response(status_code=204)


# -- profiles -----------------------------------------------------------------------------------


@router.get("/api/v1/{tenant}/profiles", summary="A tenant's device profiles")
def list_profiles(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = _may_read(principal, tenant)
    profiles = _service(request).list_profiles(name)
    return json_response({"items": [_profile_json(p) for p in profiles]})


@router.get("/api/v1/{tenant}/profiles/{profile}", summary="One device profile")
def get_profile(tenant: str, profile: str, principal: PrincipalDep, request: Request) -> Response:
    name = _may_read(principal, tenant)
    found = _service(request).get_profile(name, _profile_name(profile))
    if found is None:
        raise ResourceNotFound(f"tenant {name!r} has no device profile {profile!r}")
    return json_response(_profile_json(found))


@router.put(
    "/api/v1/{tenant}/profiles/{profile}",
    summary="Create or replace a device profile (operator); answers with its warnings",
)
async def put_profile(
    tenant: str, profile: str, principal: PrincipalDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant)
    profile_name = _profile_name(profile)
    document = await json_object(request)
    given = document.setdefault("name", profile_name)
    if given != profile_name:
        raise BadRequestData(
            f"the profile's name {given!r} differs from the name in the path {profile_name!r}"
        )
    service = _service(request)

    def put() -> tuple[dict[str, Any], bool]:
        existed = service.get_profile(name, profile_name) is not None
        stored, warnings = service.put_profile(name, document)
        return {"profile": _profile_json(stored), "warnings": warnings}, existed

    body, existed = await run_in_threadpool(put)
    return json_response(body, status_code=200 if existed else 201)


@router.delete(
    "/api/v1/{tenant}/profiles/{profile}",
    status_code=204,
    summary="Delete a device profile that no device uses (operator)",
)
def delete_profile(
    tenant: str, profile: str, principal: PrincipalDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant)
    profile_name = _profile_name(profile)
    service = _service(request)
    users = [d.device for d in service.list_devices(name) if d.profile == profile_name]
    if users:
        raise InUse(
            f"profile {profile_name!r} is assigned to {len(users)} device(s), e.g. "
            f"{users[0]!r}; assign them another profile first",
            devices=users[:100],
        )
    if not service.delete_profile(name, profile_name):
        raise ResourceNotFound(f"tenant {name!r} has no device profile {profile_name!r}")
    return Response(status_code=204)
