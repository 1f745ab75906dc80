"""Fixtures: real receivers on loopback (see receivers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reactions.delivery.receivers import (
    HttpReceiver,
    SmtpReceiver,
    running_http_receiver,
    running_smtp_receiver,
    silent_listener,
)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with running_http_receiver() as r:
        yield r


@pytest.fixture
def other_receiver() -> Iterator[HttpReceiver]:
    """A second HTTP receiver (another port: another origin)."""
    with running_http_receiver() as r:
        yield r


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with running_smtp_receiver() as s:
        yield s


@pytest.fixture
def silent_port() -> Iterator[int]:
    with silent_listener() as port:
        yield port
