"""DeviceService: profiles and devices kept in the store (both backends)."""

from __future__ import annotations

import pytest

from cetate.errors import AlreadyExists, BadRequestData, ResourceNotFound
from cetate.ingest.devices.credentials import VerifyFailure
from cetate.ingest.devices.model import DeviceSpec, device_entity_id
from cetate.ingest.profiles import InvalidProfile
from tests.ingest.conftest import BIN_PROFILE, DeviceWorld


def test_profiles_are_stored_per_tenant(world: DeviceWorld) -> None:
    profile = world.devices.get_profile("cluj", "bin-v1")
    assert profile is not None
    assert profile.entity_type == "WasteContainer"
    assert world.devices.get_profile("timisoara", "bin-v1") is None
    changed = {**BIN_PROFILE, "maxReadings": 7}
    world.devices.put_profile("cluj", changed)
    again = world.devices.get_profile("cluj", "bin-v1")
    assert again is not None
    assert again.max_readings == 7
    other = world.devices.get_profile("iasi", "bin-v1")
    assert other is not None
    assert other.max_readings != 7
    assert [p.name for p in world.devices.list_profiles("cluj")] == ["bin-v1"]


def test_an_invalid_profile_is_refused(world: DeviceWorld) -> None:
    with pytest.raises(InvalidProfile):
        world.devices.put_profile("cluj", {"name": "x", "measurements": []})
    with pytest.raises(InvalidProfile):
        world.devices.put_profile("cluj", b"{not json")


def test_provision_creates_entity_assignment_and_credentials(world: DeviceWorld) -> None:
    token, password = world.provision("cluj", "bin-1", name="Coș Piața Unirii")
    assert token is not None
    assert password is not None
    entity = world.store.get_entity("cluj", device_entity_id("cluj", "bin-1"))
    assert entity is not None
    assert any(t.endswith("Device") for t in entity["type"])
    info = world.devices.get_device("cluj", "bin-1")
    assert info is not None
    assert info.profile == "bin-v1"
    assert world.credentials.verify_http(token).ok
    assert world.credentials.verify_mqtt("cluj/bin-1", password).ok
    assert [d.device for d in world.devices.list_devices("cluj")] == ["bin-1"]
    assert world.devices.list_devices("iasi") == []
    with pytest.raises(AlreadyExists):
        world.provision("cluj", "bin-1")


def test_provision_with_an_unknown_profile_writes_nothing(world: DeviceWorld) -> None:
    spec = DeviceSpec.model_validate({"deviceId": "bin-9", "profile": "nope"})
    with pytest.raises(BadRequestData, match="nope"):
        world.devices.provision("cluj", spec)
    assert world.devices.get_device("cluj", "bin-9") is None
    assert world.registry.get_credentials("cluj", "bin-9") is None
    assert world.store.get_entity("cluj", device_entity_id("cluj", "bin-9")) is None


def test_rotate_revoke_delete(world: DeviceWorld) -> None:
    token, _ = world.provision("cluj", "bin-1")
    assert token is not None
    new = world.devices.rotate("cluj", "bin-1")
    assert new.http_token is not None
    assert world.credentials.verify_http(token).failure is VerifyFailure.wrong_secret
    assert world.credentials.verify_http(new.http_token).ok
    world.devices.revoke("cluj", "bin-1")
    assert world.credentials.verify_http(new.http_token).failure is VerifyFailure.revoked
    assert world.devices.delete("cluj", "bin-1")
    assert world.credentials.verify_http(new.http_token).failure is VerifyFailure.unknown_device
    assert world.devices.get_device("cluj", "bin-1") is None
    assert world.store.get_entity("cluj", device_entity_id("cluj", "bin-1")) is None
    assert not world.devices.delete("cluj", "bin-1")
    with pytest.raises(ResourceNotFound):
        world.devices.rotate("cluj", "bin-1")


def test_a_profile_in_use_cannot_be_deleted(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    with pytest.raises(BadRequestData, match="assigned"):
        world.devices.delete_profile("cluj", "bin-v1")
    assert world.devices.delete_profile("iasi", "bin-v1")


def test_assign_profile(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    world.devices.put_profile("cluj", {**BIN_PROFILE, "name": "bin-v2"})
    assert world.devices.assign_profile("cluj", "bin-1", "bin-v2").profile == "bin-v2"
    with pytest.raises(BadRequestData):
        world.devices.assign_profile("cluj", "bin-1", "missing")
    with pytest.raises(ResourceNotFound):
        world.devices.assign_profile("cluj", "ghost", "bin-v2")
