"""Fixtures for the device-profile tests: the WasteManagement @context, resolved offline."""

from __future__ import annotations

import pytest

from cetate.ngsi.jsonld import ContextResolver, LdContext
from tests.ingest.profiles.helpers import WASTE_CONTEXT


@pytest.fixture(scope="session")
def resolver() -> ContextResolver:
    return ContextResolver()


@pytest.fixture(scope="session")
def waste_context(resolver: ContextResolver) -> LdContext:
    return resolver.resolve(WASTE_CONTEXT)
