"""Open311 GeoReport v2 end to end on both store backends: services, the JSON and XML round
trip, photos, tokens, filters and paging, the NGSI-LD entity, tenant separation."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

import orjson
from fastapi.testclient import TestClient
from PIL import Image

from cetate.domains.citizens.config import CitizensConfig, default_config
from cetate.domains.citizens.entity import CONTEXT, ENTITY_TYPE_IRI
from cetate.domains.citizens.reporters import KIND as REPORTER_KIND
from cetate.domains.citizens.runtime import build_runtime
from cetate.store.base import ContextStore
from tests.domains.citizens.conftest import Keys, jpeg_with_gps, report

V2 = "/open311/v2"
ORADEA = {"jurisdiction_id": "oradea"}
LINK = f'<{CONTEXT[0]}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


def _post(client: TestClient, form: dict[str, str], fmt: str = "json", **kw: Any) -> Any:
    return client.post(f"{V2}/requests.{fmt}", data=form, **kw)


def _created_id(client: TestClient, form: dict[str, str], **kw: Any) -> str:
    response = _post(client, form, **kw)
    assert response.status_code == 201, response.text
    return str(response.json()[0]["service_request_id"])


def test_services_in_json_and_xml_in_both_languages(client: TestClient, keys: Keys) -> None:
    response = client.get(f"{V2}/services.json", params={"jurisdiction_id": "oradea"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    services = response.json()
    assert [s["service_code"] for s in services] == [
        "pothole",
        "streetlight",
        "illegal_dumping",
        "overflowing_bin",
        "graffiti",
    ]
    pothole = services[0]
    assert pothole == {
        "service_code": "pothole",
        "service_name": "Groapă în carosabil",
        "description": "Gropi sau denivelări în carosabil ori pe trotuar.",
        "metadata": True,
        "type": "realtime",
        "keywords": "drum, road, asfalt, asphalt",
        "group": "Drumuri",
    }
    english = client.get(f"{V2}/services.xml", params={"locale": "en_US"})
    assert english.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(english.content)
    assert root.tag == "services"
    first = root.findall("service")[0]
    assert first.findtext("service_name") == "Pothole"
    assert first.findtext("metadata") == "true"
    by_header = client.get(f"{V2}/services.json", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert by_header.json()[1]["service_name"] == "Broken streetlight"


def test_service_definition_lists_attributes(client: TestClient) -> None:
    response = client.get(f"{V2}/services/overflowing_bin.json", params={"locale": "en"})
    assert response.status_code == 200
    definition = response.json()
    assert definition["service_code"] == "overflowing_bin"
    [attribute] = definition["attributes"]
    assert attribute["code"] == "bin_type"
    assert attribute["required"] is True
    assert attribute["datatype"] == "singlevaluelist"
    assert attribute["values"][1] == {"key": "recycling", "name": "Recycling"}
    xml = ET.fromstring(client.get(f"{V2}/services/overflowing_bin.xml").content)
    assert xml.tag == "service_definition"
    values = xml.findall("attributes/attribute/values/value")
    assert [v.findtext("key") for v in values] == ["household", "recycling", "glass"]
    assert values[0].findtext("name") == "Menajer"


def test_json_round_trip_with_entity_and_private_reporter(
    client: TestClient, keys: Keys, store: ContextStore
) -> None:
    form = report(
        keys.api_key["oradea"],
        "overflowing_bin",
        jurisdiction_id="oradea",
        **{"attribute[bin_type]": "glass"},
        address_string="Piața Unirii 1",
    )
    response = _post(client, form)
    assert response.status_code == 201
    [created] = response.json()
    assert set(created) == {"service_request_id", "token", "service_notice", "account_id"}
    request_id = created["service_request_id"]

    one = client.get(f"{V2}/requests/{request_id}.json", params={"jurisdiction_id": "oradea"})
    assert one.status_code == 200
    [found] = one.json()
    assert found["service_request_id"] == request_id
    assert found["service_code"] == "overflowing_bin"
    assert found["service_name"] == "Container de gunoi plin"
    assert found["status"] == "open"
    assert found["description"] == "Groapă mare lângă stația de tramvai"
    assert found["address"] == "Piața Unirii 1"
    assert (found["lat"], found["long"]) == (47.0722, 21.9211)
    assert found["requested_datetime"].endswith("Z")
    assert found["media_url"] is None
    assert "email" not in orjson.dumps(found).decode()
    assert "ana.pop" not in one.text
    assert "722 123" not in one.text

    # the NGSI-LD entity, through the NGSI-LD API, has no personal data
    entity = client.get(
        f"/ngsi-ld/v1/entities/urn:ngsi-ld:Open311ServiceRequest:{int(request_id):010d}",
        headers={**keys.viewer["oradea"], "NGSILD-Tenant": "oradea", "Link": LINK},
        params={"options": "keyValues"},
    )
    assert entity.status_code == 200, entity.text
    body = entity.json()
    assert body["type"] == "service_requests"
    assert body["status"] == "open"
    assert body["workflowStatus"] == "new"
    assert body["service_code"] == "overflowing_bin"
    assert body["attributes"] == [{"code": "bin_type", "value": "glass"}]
    assert body["location"] == {"type": "Point", "coordinates": [21.9211, 47.0722]}
    text = entity.text
    for personal in ("ana.pop@example.ro", "722 123", "Pop", "email", "phone", "first_name"):
        assert personal not in text
    reporter = store.get_record("oradea", REPORTER_KIND, request_id)
    assert reporter is not None
    assert reporter.data == {
        "email": "ana.pop@example.ro",
        "phone": "+40 722 123 456",
        "first_name": "Ana",
        "last_name": "Pop",
        "language": "ro",
    }
    types = client.get(
        "/ngsi-ld/v1/types",
        headers={**keys.viewer["oradea"], "NGSILD-Tenant": "oradea", "Link": LINK},
    )
    assert types.json()["typeList"] == ["service_requests"]
    plain = client.get(
        "/ngsi-ld/v1/types", headers={**keys.viewer["oradea"], "NGSILD-Tenant": "oradea"}
    )
    assert plain.json()["typeList"] == [ENTITY_TYPE_IRI]


def test_xml_round_trip_escapes_html(client: TestClient, keys: Keys) -> None:
    script = '<script>alert("x")</script> & <b>bold</b>'
    response = _post(client, report(keys.api_key["oradea"], description=script), fmt="xml")
    assert response.status_code == 201
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    request_id = root.findtext("request/service_request_id")
    token = root.findtext("request/token")
    assert request_id
    assert token
    got = client.get(f"{V2}/requests/{request_id}.xml", params={"jurisdiction_id": "oradea"})
    assert got.status_code == 200
    assert b"<script>" not in got.content
    assert b'&lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;' in got.content
    parsed = ET.fromstring(got.content)
    assert parsed.findtext("request/description") == script  # stored as text, unchanged
    assert parsed.findtext("request/status") == "open"
    as_json = client.get(f"{V2}/requests/{request_id}.json", params={"jurisdiction_id": "oradea"})
    assert as_json.json()[0]["description"] == script


def test_token_lookup(client: TestClient, keys: Keys) -> None:
    [created] = _post(client, report(keys.api_key["oradea"])).json()
    token = created["token"]
    found = client.get(f"{V2}/tokens/{token}.json", params={"jurisdiction_id": "oradea"})
    assert found.status_code == 200
    assert found.json() == [{"service_request_id": created["service_request_id"], "token": token}]
    xml = ET.fromstring(
        client.get(f"{V2}/tokens/{token}.xml", params={"jurisdiction_id": "oradea"}).content
    )
    assert xml.findtext("request/service_request_id") == created["service_request_id"]
    unknown = client.get(f"{V2}/tokens/nope.json", params={"jurisdiction_id": "oradea"})
    assert unknown.status_code == 404
    assert unknown.json()[0]["code"] == 404
    elsewhere = client.get(f"{V2}/tokens/{token}.json", params={"jurisdiction_id": "cluj"})
    assert elsewhere.status_code == 404


def test_photo_upload_is_cleaned_and_served(client: TestClient, keys: Keys) -> None:
    original = jpeg_with_gps()
    response = _post(
        client,
        report(keys.api_key["oradea"]),
        files={"media": ("IMG_0001.jpg", original, "image/jpeg")},
    )
    assert response.status_code == 201, response.text
    request_id = response.json()[0]["service_request_id"]
    [found] = client.get(
        f"{V2}/requests/{request_id}.json", params={"jurisdiction_id": "oradea"}
    ).json()
    media_url = found["media_url"]
    assert media_url.startswith("http://testserver/open311/v2/media/")
    assert media_url.endswith(".jpg")
    served = client.get(media_url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.content != original
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "JPEG"
        assert max(image.size) == 1600
        assert len(image.getexif()) == 0
        assert image.getexif().get_ifd(0x8825) == {}
    assert b"CetateTestCam" not in served.content
    wrong_extension = client.get(media_url[: -len("jpg")] + "png")
    assert wrong_extension.status_code == 404


def test_media_url_is_kept_as_given(client: TestClient, keys: Keys) -> None:
    form = report(keys.api_key["oradea"], media_url="https://photos.example.org/a.jpg")
    request_id = _created_id(client, form)
    [found] = client.get(f"{V2}/requests/{request_id}.json", params=ORADEA).json()
    assert found["media_url"] == "https://photos.example.org/a.jpg"


def test_filters_and_paging(client: TestClient, keys: Keys, app: Any) -> None:
    key = keys.api_key["oradea"]
    ids = [_created_id(client, report(key, "pothole")) for _ in range(3)]
    ids += [_created_id(client, report(key, "graffiti")) for _ in range(2)]
    app.state.citizens.reports.change_status("oradea", ids[0], "rejected", reason="duplicate")

    def listed(**params: str) -> list[str]:
        response = client.get(f"{V2}/requests.json", params={"jurisdiction_id": "oradea", **params})
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert listed() == ids
    assert listed(service_code="graffiti") == ids[3:]
    assert listed(service_code="graffiti,pothole") == ids
    assert listed(status="closed") == [ids[0]]
    assert listed(status="open") == ids[1:]
    assert listed(status="open", service_code="pothole") == ids[1:3]
    assert listed(service_request_id=f"{ids[4]},{ids[1]},999") == [ids[4], ids[1]]
    # with ids, the other filters are ignored (as the specification says)
    assert listed(service_request_id=ids[0], status="open") == [ids[0]]
    assert listed(start_date="2000-01-01T00:00:00Z", end_date="2000-12-31T00:00:00Z") == []
    assert listed(start_date="2000-01-01T00:00:00Z") == ids
    assert listed(end_date="2999-01-01T00:00:00+02:00") == ids
    assert listed(page_size="2") == ids[:2]
    assert listed(page_size="2", page="2") == ids[2:4]
    assert listed(page_size="2", page="3") == ids[4:]
    assert listed(page_size="2", page="4") == []
    total = client.get(f"{V2}/requests.json", params={**ORADEA, "page_size": "2"})
    assert total.headers["x-total-count"] == "5"
    closed_only = {**ORADEA, "status": "closed"}
    xml = ET.fromstring(client.get(f"{V2}/requests.xml", params=closed_only).content)
    [closed] = xml.findall("request")
    assert closed.findtext("status") == "closed"
    assert closed.findtext("status_notes") == "duplicate"


def test_tenant_separation(client: TestClient, keys: Keys) -> None:
    oradea_id = _created_id(client, report(keys.api_key["oradea"], description="in Oradea"))
    cluj_id = _created_id(client, report(keys.api_key["cluj"], description="in Cluj"))
    assert oradea_id == cluj_id == "1"  # ids are per tenant
    oradea = client.get(f"{V2}/requests.json", params={"jurisdiction_id": "oradea"}).json()
    cluj = client.get(f"{V2}/requests.json", params={"jurisdiction_id": "cluj"}).json()
    assert [r["description"] for r in oradea] == ["in Oradea"]
    assert [r["description"] for r in cluj] == ["in Cluj"]
    one = client.get(f"{V2}/requests/1.json", params={"jurisdiction_id": "cluj"}).json()
    assert one[0]["description"] == "in Cluj"
    # the default tenant has none of them
    assert client.get(f"{V2}/requests.json").json() == []
    # a key of one tenant cannot file in another's jurisdiction
    refused = _post(client, report(keys.api_key["cluj"], jurisdiction_id="oradea"))
    assert refused.status_code == 403
    assert "jurisdiction" in refused.json()[0]["description"]
    assert len(client.get(f"{V2}/requests.json", params={"jurisdiction_id": "oradea"}).json()) == 1
    unknown = client.get(f"{V2}/requests.json", params={"jurisdiction_id": "nowhere"})
    assert unknown.status_code == 404
    assert unknown.json() == [
        {"code": 404, "description": "jurisdiction_id 'nowhere' is not served here"}
    ]


def test_subscriptions_see_new_reports(client: TestClient, keys: Keys, store: ContextStore) -> None:
    subscription = {
        "type": "Subscription",
        "entities": [{"type": "service_requests"}],
        "watchedAttributes": ["workflowStatus"],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
    }
    created = client.post(
        "/ngsi-ld/v1/subscriptions",
        content=orjson.dumps(subscription),
        headers={
            **keys.admin["oradea"],
            "NGSILD-Tenant": "oradea",
            "Content-Type": "application/json",
            "Link": LINK,
        },
    )
    assert created.status_code == 201, created.text
    assert store.queue_length("notifications", "oradea") == 0
    request_id = _created_id(client, report(keys.api_key["oradea"]))
    assert store.queue_length("notifications", "oradea") == 1
    _created_id(client, report(keys.api_key["cluj"]))  # another tenant: not this subscription
    assert store.queue_length("notifications", "oradea") == 1
    app = client.app
    app.state.citizens.reports.change_status("oradea", request_id, "acknowledged")  # type: ignore[attr-defined]
    assert store.queue_length("notifications", "oradea") == 2


def test_configured_jurisdiction_ids(app: Any, client: TestClient, keys: Keys) -> None:
    config = default_config()
    build_runtime(
        app, CitizensConfig(services=config.services, jurisdictions={"oradea.ro": "oradea"})
    )
    form = report(keys.api_key["oradea"], jurisdiction_id="oradea.ro")
    request_id = _created_id(client, form)
    by_alias = client.get(f"{V2}/requests.json", params={"jurisdiction_id": "oradea.ro"}).json()
    assert [r["service_request_id"] for r in by_alias] == [request_id]
    by_name = client.get(f"{V2}/requests.json", params=ORADEA).json()
    assert by_alias == by_name
