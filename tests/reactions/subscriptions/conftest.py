"""Fixtures: the @contexts the subscription tests use."""

from __future__ import annotations

import pytest

from cetate.ngsi.jsonld import ContextResolver, LdContext
from tests.reactions.subscriptions.support import WASTE_URL


@pytest.fixture
def waste() -> LdContext:
    return ContextResolver().resolve(WASTE_URL)


@pytest.fixture
def core() -> LdContext:
    return ContextResolver().core()
