"""JSON-LD @context handling, offline.

The NGSI-LD core context and the FIWARE Smart Data Models contexts ship with the package
(:mod:`cetate.ngsi.contexts`) and are served from there; nothing is fetched over the network at
run time. Known contexts resolve through a cached term map (fast path); anything else goes
through pyld with the offline document loader.
"""

from __future__ import annotations

from typing import Any

CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


class LdContext:
    """A resolved @context: maps terms to IRIs and back."""

    @property
    def source(self) -> list[Any]:
        """The @context as the client gave it (URLs and/or inline objects), core last."""
        raise NotImplementedError

    def expand_term(self, term: str) -> str:
        """An attribute or type name to its IRI (``@vocab`` default-context for unknown terms;
        absolute IRIs and compact ``prefix:suffix`` forms as JSON-LD says)."""
        raise NotImplementedError

    def compact_iri(self, iri: str) -> str:
        """The shortest term of this context for an IRI, or the IRI itself."""
        raise NotImplementedError


class ContextResolver:
    """Resolves @context values to :class:`LdContext` objects, caching them."""

    def resolve(self, context: Any | None) -> LdContext:
        """``None`` means the core context alone. A URL, inline object or list of them.
        Raises :class:`cetate.errors.LdContextNotAvailable` for a remote URL that is not in the
        local cache and :class:`cetate.errors.InvalidRequest` for a malformed context."""
        raise NotImplementedError
