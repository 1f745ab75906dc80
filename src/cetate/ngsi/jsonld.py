"""JSON-LD @context handling, offline.

The NGSI-LD core context and the FIWARE Smart Data Models contexts ship with the package
(:mod:`cetate.ngsi.contexts`) and are served from there; nothing is fetched over the network at
run time. Known contexts resolve through a cached term map (fast path); anything else goes
through pyld with the offline document loader.

How a context is resolved:

1. The client's ``@context`` (``None``, a URL, an inline object or a list of them) is flattened:
   every URL is replaced by the ``@context`` of its local copy (recursively). A URL that is not
   in ``contexts/url-map.json`` raises :class:`cetate.errors.LdContextNotAvailable`.
2. Core context URLs the client lists are taken out of the list, and the core context (the one
   the client named, else :data:`CORE_CONTEXT_URL`) is applied **last**; it is ``@protected``,
   so no client context can redefine a core term.
3. pyld processes the flattened list into an active context (JSON-LD 1.1 rules; a malformed
   context raises :class:`cetate.errors.InvalidRequest`), from which a term map
   (term → IRI) and an inverse map (IRI → shortest term) are built once per distinct context and
   cached. :meth:`LdContext.expand_term` and :meth:`LdContext.compact_iri` are dictionary
   look-ups after the first call for a name.

Leniencies, each for a known upstream quirk:

* ``dataModel.IssueTracking`` defines terms such as ``open311:metadata`` whose prefix is not a
  term and whose IRI is not the term itself; strict JSON-LD 1.1 rejects them ("term in form of
  IRI must expand to definition"). Such terms are kept away from pyld and added to the term map
  as plain terms.
* ``EVChargingStation``'s key-values example lists ``"iudx:EVChargingStation"`` as an
  ``@context`` entry. A string entry that is neither an ``http(s)`` URL nor a known context URL
  cannot name a retrievable context; it is ignored (it stays in :attr:`LdContext.source`).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, ClassVar, Final

from pyld import jsonld  # type: ignore[import-untyped,unused-ignore]

from cetate.errors import InvalidRequest, LdContextNotAvailable

CORE_CONTEXT_URL: Final = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
DEFAULT_VOCAB: Final = "https://uri.etsi.org/ngsi-ld/default-context/"
JSONLD_CONTEXT_REL: Final = "http://www.w3.org/ns/json-ld#context"
JSONLD_MEDIA_TYPE: Final = "application/ld+json"

CORE_CONTEXT_URLS: Final = frozenset(
    {
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld",
    }
)
"""Core context URLs Cetate knows; any of them in a client's @context is applied last."""

_MAX_CACHED_CONTEXTS: Final = 512
_MAX_CACHED_TERMS: Final = 20_000
_GEN_DELIMS: Final = re.compile(r"[:/?#\[\]@]$")


# --------------------------------------------------------------------------------------------
# The local cache of context documents


@cache
def _url_map() -> dict[str, str]:
    text = resources.files("cetate.ngsi").joinpath("contexts", "url-map.json").read_text("utf-8")
    mapping: dict[str, str] = json.loads(text)
    return mapping


@cache
def _load_local(relative_path: str) -> Any:
    parts = relative_path.split("/")
    text = resources.files("cetate.ngsi").joinpath("contexts", *parts).read_text("utf-8")
    return json.loads(text)


def known_context_urls() -> frozenset[str]:
    """Every @context URL that resolves offline."""
    return frozenset(_url_map())


def load_context_document(url: str) -> Any:
    """The JSON document of a known context URL (a fresh copy), or LdContextNotAvailable."""
    path = _url_map().get(url)
    if path is None:
        raise LdContextNotAvailable(
            f"@context {url!r} is not available: Cetate resolves @context URLs only from its "
            f"local cache and never fetches them; known URLs are the NGSI-LD core contexts and "
            "the FIWARE Smart Data Models contexts (give the context inline instead)",
            url=url,
        )
    return json.loads(json.dumps(_load_local(path)))


def offline_document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """A pyld document loader that serves known URLs from the package and nothing else."""
    try:
        document = load_context_document(url)
    except LdContextNotAvailable as exc:
        raise jsonld.JsonLdError(
            exc.detail, "jsonld.LoadDocumentError", {"url": url}, code="loading document failed"
        ) from exc
    return {
        "contentType": JSONLD_MEDIA_TYPE,
        "contextUrl": None,
        "documentUrl": url,
        "document": document,
    }


# Whoever else in the process uses pyld gets the offline loader too: nothing is ever fetched.
jsonld.set_document_loader(offline_document_loader)


# --------------------------------------------------------------------------------------------
# Link headers


def link_header(context_url: str) -> str:
    """The ``Link`` header value that points at a JSON-LD @context."""
    return f'<{context_url}>; rel="{JSONLD_CONTEXT_REL}"; type="{JSONLD_MEDIA_TYPE}"'


_LINK_PART = re.compile(r"\s*<([^>]*)>\s*((?:;\s*[^;,]*)*)")


def parse_link_header(value: str | None) -> str | None:
    """The @context URL of a ``Link`` header (the link with
    ``rel="http://www.w3.org/ns/json-ld#context"``), or ``None`` when there is none.
    Raises :class:`cetate.errors.InvalidRequest` for a malformed header or several context
    links."""
    if value is None or not value.strip():
        return None
    found: list[str] = []
    position = 0
    text = value.strip()
    while position < len(text):
        match = _LINK_PART.match(text, position)
        if match is None:
            raise InvalidRequest(
                f"malformed Link header {value!r}; expected "
                f'<url>; rel="{JSONLD_CONTEXT_REL}"; type="{JSONLD_MEDIA_TYPE}"'
            )
        url, params = match.group(1).strip(), match.group(2)
        rels: list[str] = []
        for param in params.split(";"):
            name, _, raw = param.partition("=")
            if name.strip().lower() == "rel":
                rels.extend(raw.strip().strip('"').split())
        if JSONLD_CONTEXT_REL in rels:
            if not url:
                raise InvalidRequest(f"Link header {value!r} has an empty @context URL")
            found.append(url)
        position = match.end()
        rest = text[position:].lstrip()
        if rest.startswith(","):
            position = len(text) - len(rest) + 1
        elif rest:
            raise InvalidRequest(f"malformed Link header {value!r}")
        else:
            break
    if len(found) > 1:
        raise InvalidRequest("the Link header names more than one JSON-LD @context")
    return found[0] if found else None


# --------------------------------------------------------------------------------------------
# LdContext


class LdContext:
    """A resolved @context: maps terms to IRIs and back.

    Instances are immutable and shared between requests (the resolver caches them); the term
    caches inside are filled lazily and are safe to share.
    """

    __slots__ = (
        "_compacted",
        "_expanded",
        "_iri_to_term",
        "_key",
        "_prefixes",
        "_source",
        "_terms",
        "_vocab",
    )

    def __init__(
        self,
        source: list[Any],
        terms: Mapping[str, str],
        vocab: str | None,
        prefixes: Mapping[str, str],
        key: str,
    ) -> None:
        self._source = source
        self._terms: dict[str, str] = dict(terms)
        self._vocab = vocab
        self._prefixes: dict[str, str] = dict(prefixes)
        self._key = key
        inverse: dict[str, str] = {}
        for term, iri in self._terms.items():
            if iri.startswith("@"):
                continue
            best = inverse.get(iri)
            if best is None or (len(term), term) < (len(best), best):
                inverse[iri] = term
        self._iri_to_term = inverse
        self._expanded: dict[str, str] = {}
        self._compacted: dict[str, str] = {}

    @property
    def source(self) -> list[Any]:
        """The @context as the client gave it (URLs and/or inline objects), core last."""
        return list(self._source)

    @property
    def vocab(self) -> str | None:
        """The ``@vocab`` in force (the NGSI-LD default context)."""
        return self._vocab

    @property
    def cache_key(self) -> str:
        """A string that identifies this context (equal contexts, equal keys)."""
        return self._key

    @property
    def is_core_only(self) -> bool:
        return len(self._source) == 1 and self._source[0] in CORE_CONTEXT_URLS

    @property
    def terms(self) -> Mapping[str, str]:
        """Every term this context defines, with its IRI."""
        return self._terms

    def link_header(self) -> str | None:
        """The Link header for this context when it is a single URL, else ``None`` (then the
        caller has to send ``@context`` in the body)."""
        urls = [entry for entry in self._source if isinstance(entry, str)]
        if len(self._source) == 1 and urls:
            return link_header(urls[0])
        if len(self._source) == 2 and isinstance(self._source[0], str):
            return link_header(self._source[0]) if self._source[1] in CORE_CONTEXT_URLS else None
        return None

    def expand_term(self, term: str) -> str:
        """An attribute or type name to its IRI (``@vocab`` default-context for unknown terms;
        absolute IRIs and compact ``prefix:suffix`` forms as JSON-LD says)."""
        iri = self._terms.get(term)
        if iri is not None:
            return iri
        iri = self._expanded.get(term)
        if iri is not None:
            return iri
        iri = self._expand_uncached(term)
        if len(self._expanded) < _MAX_CACHED_TERMS:
            self._expanded[term] = iri
        return iri

    def _expand_uncached(self, term: str) -> str:
        if term.startswith("@"):
            return term
        prefix, colon, suffix = term.partition(":")
        if colon:
            if prefix == "_" or suffix.startswith("//"):
                return term
            prefix_iri = self._prefixes.get(prefix)
            if prefix_iri is not None:
                return prefix_iri + suffix
            return term  # an absolute IRI such as urn:…
        if self._vocab is not None:
            return self._vocab + term
        return term

    def compact_iri(self, iri: str) -> str:
        """The shortest term of this context for an IRI, or the IRI itself."""
        term = self._iri_to_term.get(iri)
        if term is not None:
            return term
        term = self._compacted.get(iri)
        if term is not None:
            return term
        term = self._compact_uncached(iri)
        if len(self._compacted) < _MAX_CACHED_TERMS:
            self._compacted[iri] = term
        return term

    def _compact_uncached(self, iri: str) -> str:
        vocab = self._vocab
        if vocab is not None and iri.startswith(vocab) and iri != vocab:
            suffix = iri[len(vocab) :]
            if ":" not in suffix and suffix not in self._terms and not suffix.startswith("@"):
                return suffix
        candidate: str | None = None
        for prefix, prefix_iri in self._prefixes.items():
            if iri.startswith(prefix_iri) and iri != prefix_iri:
                curie = prefix + ":" + iri[len(prefix_iri) :]
                if curie in self._terms and self._terms[curie] != iri:
                    continue
                if candidate is None or (len(curie), curie) < (len(candidate), candidate):
                    candidate = curie
        if candidate is not None:
            return candidate
        return iri

    def __repr__(self) -> str:
        return f"LdContext({self._source!r})"


# --------------------------------------------------------------------------------------------
# Building contexts


def _is_http_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _flatten(
    context: Any, out: list[dict[str, Any]], seen: tuple[str, ...], cores: list[str]
) -> None:
    """Inline every URL of ``context`` into ``out`` (a list of context objects)."""
    if context is None:
        return
    if isinstance(context, list):
        for entry in context:
            _flatten(entry, out, seen, cores)
        return
    if isinstance(context, str):
        if context in CORE_CONTEXT_URLS:
            cores.append(context)
            return
        if context in _url_map():
            if context in seen:
                raise InvalidRequest(f"@context {context!r} includes itself")
            document = load_context_document(context)
            if not isinstance(document, dict) or "@context" not in document:
                raise InvalidRequest(f"@context document {context!r} has no @context member")
            _flatten(document["@context"], out, (*seen, context), cores)
            return
        if _is_http_url(context):
            load_context_document(context)  # raises LdContextNotAvailable
        return  # not a URL at all (e.g. "iudx:EVChargingStation"): nothing to load
    if isinstance(context, dict):
        if "@context" in context and len(context) == 1:
            _flatten(context["@context"], out, seen, cores)
            return
        for key, value in context.items():
            if key == "@import" and isinstance(value, str):
                _flatten(value, out, seen, cores)
        out.append(context)
        return
    raise InvalidRequest(
        f"@context entries must be URLs (strings) or objects, got {type(context).__name__}"
    )


def _term_id(definition: Any) -> str | None:
    if isinstance(definition, str):
        return definition
    if isinstance(definition, dict):
        identifier = definition.get("@id")
        return identifier if isinstance(identifier, str) else None
    return None


def _split_lenient_terms(
    objects: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Take out terms a strict JSON-LD 1.1 processor rejects but that mean something plain:
    ``open311:metadata`` → ``https://…/open311:metadata`` where ``open311`` is no term."""
    defined: set[str] = set()
    for obj in objects:
        defined.update(obj)
    lenient: dict[str, str] = {}
    cleaned: list[dict[str, Any]] = []
    for obj in objects:
        kept: dict[str, Any] | None = None
        for term, definition in obj.items():
            if term.startswith("@") or ":" not in term:
                continue
            prefix, _, suffix = term.partition(":")
            if prefix == "_" or suffix.startswith("//") or prefix in defined:
                continue
            identifier = _term_id(definition)
            if identifier is None or identifier == term:
                continue
            if kept is None:
                kept = dict(obj)
            del kept[term]
            lenient[term] = identifier
        cleaned.append(obj if kept is None else kept)
    return cleaned, lenient


def _without_scoped_contexts(obj: dict[str, Any]) -> dict[str, Any]:
    """Term definitions without their scoped ``@context``: names inside nested objects are not
    attribute names, and the v1.9 core scopes a context that is not available offline
    (``ngsildproof`` → ``https://w3id.org/security/data-integrity/v2``)."""
    if not any(isinstance(value, dict) and "@context" in value for value in obj.values()):
        return obj
    return {
        term: (
            {k: v for k, v in value.items() if k != "@context"}
            if isinstance(value, dict) and "@context" in value
            else value
        )
        for term, value in obj.items()
    }


def _build(source: list[Any], objects: list[dict[str, Any]], key: str) -> LdContext:
    cleaned, lenient = _split_lenient_terms([_without_scoped_contexts(obj) for obj in objects])
    options = {"documentLoader": offline_document_loader, "base": ""}
    processor = jsonld.JsonLdProcessor()
    try:
        active = processor.process_context(
            processor._get_initial_context(options), cleaned, options
        )
    except jsonld.JsonLdError as exc:
        raise _context_error(exc) from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise InvalidRequest(f"malformed @context: {exc}") from None
    terms: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for term, mapping in active["mappings"].items():
        if not mapping or mapping.get("reverse"):
            continue
        identifier = mapping.get("@id")
        if not isinstance(identifier, str):
            continue
        terms[term] = identifier
        if mapping.get("_prefix") and ":" not in term:
            prefixes[term] = identifier
    for term, identifier in lenient.items():
        terms.setdefault(term, identifier)
    vocab = active.get("@vocab")
    return LdContext(source, terms, vocab if isinstance(vocab, str) else None, prefixes, key)


def _context_error(exc: Any) -> Exception:
    """pyld's error as one of ours: a load failure is LdContextNotAvailable, the rest are
    malformed contexts."""
    cause: Any = exc
    while cause is not None:
        if isinstance(cause, LdContextNotAvailable):
            return cause
        cause = getattr(cause, "cause", None) or cause.__cause__
    code = getattr(exc, "code", None) or getattr(exc, "type", "")
    details = getattr(exc, "details", None) or {}
    extra = ""
    if isinstance(details, dict):
        for name in ("term", "iri", "url"):
            if name in details and isinstance(details[name], str):
                extra = f" ({name} {details[name]!r})"
                break
    args = getattr(exc, "args", ())
    message = str(args[0] if args else exc).splitlines()[0]
    return InvalidRequest(f"malformed @context: {message}{extra} [{code}]")


def _cache_key(context: Any) -> str:
    if isinstance(context, str):
        return context
    if isinstance(context, list) and all(isinstance(entry, str) for entry in context):
        return "\n".join(context) if len(context) != 1 else "[]" + context[0]
    try:
        return json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        raise InvalidRequest("the @context is not valid JSON") from None


class ContextResolver:
    """Resolves @context values to :class:`LdContext` objects, caching them.

    The cache is shared by every resolver in the process (contexts are immutable), so creating
    a resolver per request costs nothing.
    """

    _cache: ClassVar[OrderedDict[str, LdContext]] = OrderedDict()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, default_core: str = CORE_CONTEXT_URL) -> None:
        if default_core not in CORE_CONTEXT_URLS:
            raise ValueError(f"unknown core context {default_core!r}")
        self.default_core = default_core

    def resolve(self, context: Any | None) -> LdContext:
        """``None`` means the core context alone. A URL, inline object or list of them.
        Raises :class:`cetate.errors.LdContextNotAvailable` for a remote URL that is not in the
        local cache and :class:`cetate.errors.InvalidRequest` for a malformed context."""
        if context is None or context == [] or context == "":
            context = self.default_core
        key = self.default_core + "\n" + _cache_key(context)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        built = self._resolve_uncached(context, key)
        with self._lock:
            self._cache[key] = built
            while len(self._cache) > _MAX_CACHED_CONTEXTS:
                self._cache.popitem(last=False)
        return built

    def _resolve_uncached(self, context: Any, key: str) -> LdContext:
        if not isinstance(context, str | list | dict):
            raise InvalidRequest(
                "@context must be a URL, an object or an array of them, "
                f"not {type(context).__name__}"
            )
        entries = context if isinstance(context, list) else [context]
        objects: list[dict[str, Any]] = []
        cores: list[str] = []
        _flatten(entries, objects, (), cores)
        core = cores[-1] if cores else self.default_core
        core_document = load_context_document(core)
        objects.append(core_document["@context"])
        source = [
            entry
            for entry in entries
            if not (isinstance(entry, str) and entry in CORE_CONTEXT_URLS)
        ]
        source.append(core)
        return _build(source, objects, key)

    def core(self) -> LdContext:
        """The core context alone."""
        return self.resolve(None)

    @classmethod
    def clear_cache(cls) -> None:
        with cls._lock:
            cls._cache.clear()
