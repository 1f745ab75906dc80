"""@context resolution offline: term maps, core context last, leniencies, Link headers."""

from __future__ import annotations

import json
import socket
from importlib import resources
from typing import Any

import pytest

from cetate.errors import InvalidRequest, LdContextNotAvailable
from cetate.ngsi.jsonld import (
    CORE_CONTEXT_URL,
    DEFAULT_VOCAB,
    ContextResolver,
    LdContext,
    known_context_urls,
    link_header,
    load_context_document,
    offline_document_loader,
    parse_link_header,
)

NGSI = "https://uri.etsi.org/ngsi-ld/"
SDM = "https://smartdatamodels.org/"
WASTE_CTX = (
    "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/"
    "context.jsonld"
)
ISSUE_CTX = "https://smart-data-models.github.io/dataModel.IssueTracking/context.jsonld"
TRANSPORT_CTX = "https://smart-data-models.github.io/dataModel.Transportation/context.jsonld"
UNVERSIONED_CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
CORE_19 = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket fails the test: contexts are never fetched."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def resolver() -> ContextResolver:
    ContextResolver.clear_cache()
    return ContextResolver()


def test_packaged_url_map_points_at_packaged_files() -> None:
    folder = resources.files("cetate.ngsi").joinpath("contexts")
    mapping = json.loads(folder.joinpath("url-map.json").read_text("utf-8"))
    assert len(mapping) == 27
    for url, path in mapping.items():
        document = json.loads(folder.joinpath(*path.split("/")).read_text("utf-8"))
        assert isinstance(document["@context"], dict), url
    assert folder.joinpath("README.md").is_file()
    assert folder.joinpath("LICENSES.md").is_file()


@pytest.mark.parametrize("url", sorted(known_context_urls()))
def test_every_known_context_resolves(resolver: ContextResolver, url: str) -> None:
    context = resolver.resolve(url)
    assert context.expand_term("location") == NGSI + "location"
    assert context.vocab == DEFAULT_VOCAB


def test_core_context_alone(resolver: ContextResolver) -> None:
    context = resolver.resolve(None)
    assert context.source == [CORE_CONTEXT_URL]
    assert context.is_core_only
    assert context.expand_term("location") == NGSI + "location"
    assert context.expand_term("observationSpace") == NGSI + "observationSpace"
    assert context.expand_term("Property") == NGSI + "Property"
    assert context.expand_term("temperature") == DEFAULT_VOCAB + "temperature"
    assert context.compact_iri(NGSI + "location") == "location"
    assert context.compact_iri(DEFAULT_VOCAB + "temperature") == "temperature"
    assert resolver.resolve([]) is context
    assert resolver.resolve(CORE_CONTEXT_URL) is context


def test_smart_data_models_terms(resolver: ContextResolver) -> None:
    context = resolver.resolve(WASTE_CTX)
    assert context.source == [WASTE_CTX, CORE_CONTEXT_URL]
    iri = SDM + "dataModel.WasteManagement/fillingLevel"
    assert context.expand_term("fillingLevel") == iri
    assert context.compact_iri(iri) == "fillingLevel"
    assert context.expand_term("WasteContainer") == SDM + "dataModel.WasteManagement/WasteContainer"
    # a term the context does not define falls to the NGSI-LD default context
    assert context.expand_term("PostalAddress") == DEFAULT_VOCAB + "PostalAddress"
    # the core context still wins for its own terms
    assert context.expand_term("location") == NGSI + "location"


def test_core_context_is_applied_last_and_protected(resolver: ContextResolver) -> None:
    context = resolver.resolve({"location": "http://example.org/where", "id": "http://x/id"})
    assert context.expand_term("location") == NGSI + "location"
    assert context.source[-1] == CORE_CONTEXT_URL


def test_core_url_given_by_the_client_moves_last(resolver: ContextResolver) -> None:
    context = resolver.resolve([UNVERSIONED_CORE, TRANSPORT_CTX])
    assert context.source == [TRANSPORT_CTX, UNVERSIONED_CORE]
    assert context.expand_term("EVChargingStation") == (
        SDM + "dataModel.Transportation/EVChargingStation"
    )
    v19 = resolver.resolve(CORE_19)
    assert v19.source == [CORE_19]
    assert v19.expand_term("ngsildproof") == NGSI + "ngsildproof"


def test_absolute_and_compact_iris(resolver: ContextResolver) -> None:
    context = resolver.resolve(
        [{"ex": "http://example.org/ns#", "ex:special": "http://example.org/ns#special"}]
    )
    assert context.expand_term("http://example.org/a") == "http://example.org/a"
    assert context.expand_term("urn:ngsi-ld:thing") == "urn:ngsi-ld:thing"
    assert context.expand_term("ex:height") == "http://example.org/ns#height"
    assert context.expand_term("ngsi-ld:foo") == NGSI + "foo"
    assert context.compact_iri("http://example.org/ns#height") == "ex:height"
    assert context.compact_iri(NGSI + "foo") == "ngsi-ld:foo"
    assert context.compact_iri("http://other.org/x") == "http://other.org/x"
    # a default-context IRI whose suffix is a defined term cannot compact to that term,
    # but whatever it compacts to expands back to it
    shadowed = DEFAULT_VOCAB + "location"
    assert context.compact_iri(shadowed) != "location"
    assert context.expand_term(context.compact_iri(shadowed)) == shadowed


def test_inline_term_definitions_round_trip(resolver: ContextResolver) -> None:
    context = resolver.resolve(
        {
            "fill": "http://example.org/fillingLevel",
            "fillingLevel": "http://example.org/fillingLevel",
        }
    )
    assert context.expand_term("fill") == "http://example.org/fillingLevel"
    assert context.expand_term("fillingLevel") == "http://example.org/fillingLevel"
    assert context.compact_iri("http://example.org/fillingLevel") == "fill"  # shortest term


def test_issue_tracking_context_terms_strict_jsonld_rejects(resolver: ContextResolver) -> None:
    context = resolver.resolve(ISSUE_CTX)
    iri = SDM + "dataModel.IssueTracking/open311:metadata"
    assert context.expand_term("open311:metadata") == iri
    assert context.compact_iri(iri) == "open311:metadata"
    assert context.expand_term("open311:type") == SDM + "dataModel.IssueTracking/open311:type"
    assert context.expand_term("service_code") == SDM + "dataModel.IssueTracking/service_code"


def test_non_url_context_entry_is_ignored(resolver: ContextResolver) -> None:
    context = resolver.resolve([TRANSPORT_CTX, UNVERSIONED_CORE, "iudx:EVChargingStation"])
    assert context.expand_term("EVChargingStation") == (
        SDM + "dataModel.Transportation/EVChargingStation"
    )
    assert "iudx:EVChargingStation" in context.source


@pytest.mark.parametrize(
    "context",
    [
        "https://example.org/my-context.jsonld",
        ["https://example.org/my-context.jsonld"],
        [WASTE_CTX, "http://example.org/other.jsonld"],
        {"@context": "https://example.org/nested.jsonld"},
    ],
)
def test_unknown_remote_context(resolver: ContextResolver, context: Any) -> None:
    with pytest.raises(LdContextNotAvailable) as info:
        resolver.resolve(context)
    assert info.value.status == 503
    assert "example.org" in info.value.detail


@pytest.mark.parametrize(
    "context",
    [
        {"temperature": 3},
        {"@version": 2},
        {"temperature": {"@id": 5}},
        {"temperature": {"@container": "@nonsense", "@id": "http://x/t"}},
        [WASTE_CTX, 42],
        42,
        True,
    ],
)
def test_malformed_context(resolver: ContextResolver, context: Any) -> None:
    with pytest.raises(InvalidRequest) as info:
        resolver.resolve(context)
    assert info.value.status == 400
    assert "@context" in info.value.detail


def test_contexts_are_cached_and_shared(resolver: ContextResolver) -> None:
    first = resolver.resolve([WASTE_CTX])
    assert resolver.resolve([WASTE_CTX]) is first
    assert ContextResolver().resolve([WASTE_CTX]) is first
    inline = {"a": "http://example.org/a"}
    assert resolver.resolve(inline) is resolver.resolve({"a": "http://example.org/a"})
    assert resolver.resolve(WASTE_CTX).source == first.source


def test_expand_and_compact_repeat_without_changing(resolver: ContextResolver) -> None:
    context = resolver.resolve(WASTE_CTX)
    for _ in range(3):
        assert context.expand_term("unknownThing") == DEFAULT_VOCAB + "unknownThing"
        assert context.compact_iri(DEFAULT_VOCAB + "unknownThing") == "unknownThing"


def test_offline_loader_serves_local_copies_only() -> None:
    document = offline_document_loader(WASTE_CTX)
    assert document["documentUrl"] == WASTE_CTX
    assert "WasteContainer" in document["document"]["@context"]
    with pytest.raises(Exception, match="not available"):
        offline_document_loader("https://example.org/x.jsonld")
    # copies: mutating one does not change the next
    load_context_document(WASTE_CTX)["@context"].clear()
    assert load_context_document(WASTE_CTX)["@context"]


def test_link_header_round_trip() -> None:
    value = link_header(WASTE_CTX)
    assert value == (
        f'<{WASTE_CTX}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    )
    assert parse_link_header(value) == WASTE_CTX


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ('<http://example.org/next>; rel="next"', None),
        (
            '<http://a.org/n>; rel="next", <http://c.org/ctx.jsonld>; '
            'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"',
            "http://c.org/ctx.jsonld",
        ),
        (
            "<http://c.org/ctx.jsonld>;rel=http://www.w3.org/ns/json-ld#context",
            "http://c.org/ctx.jsonld",
        ),
    ],
)
def test_parse_link_header(header: str | None, expected: str | None) -> None:
    assert parse_link_header(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "http://no-brackets.org/ctx.jsonld",
        '<http://a.org/1>; rel="http://www.w3.org/ns/json-ld#context", '
        '<http://a.org/2>; rel="http://www.w3.org/ns/json-ld#context"',
    ],
)
def test_bad_link_header(header: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_link_header(header)


def test_context_link_header(resolver: ContextResolver) -> None:
    assert resolver.resolve(WASTE_CTX).link_header() == link_header(WASTE_CTX)
    assert resolver.resolve(None).link_header() == link_header(CORE_CONTEXT_URL)
    assert resolver.resolve({"a": "http://example.org/a"}).link_header() is None


def test_ld_context_type_is_public() -> None:
    assert isinstance(ContextResolver().resolve(None), LdContext)
