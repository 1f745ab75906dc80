"""Fixtures: the @contexts the subscription tests use, and a real HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cetate.ngsi.jsonld import ContextResolver, LdContext
from tests.reactions.delivery.receivers import HttpReceiver, running_http_receiver
from tests.reactions.subscriptions.support import WASTE_URL


@pytest.fixture
def waste() -> LdContext:
    return ContextResolver().resolve(WASTE_URL)


@pytest.fixture
def core() -> LdContext:
    return ContextResolver().core()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """A real HTTP receiver on loopback (tests/reactions/delivery/receivers.py)."""
    with running_http_receiver() as r:
        yield r
