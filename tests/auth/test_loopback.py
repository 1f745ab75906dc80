"""`cetate serve --open` binds to loopback only."""

from __future__ import annotations

import pytest

from cetate.auth.loopback import is_loopback_host, open_mode_warning, require_loopback
from cetate.errors import InvalidRequest


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1.2.3",
        "127.255.255.254",
        "::1",
        "[::1]",
        "0:0:0:0:0:0:0:1",
        "::ffff:127.0.0.1",
        "localhost",
        "LOCALHOST",
        " localhost ",
    ],
)
def test_loopback(host: str) -> None:
    assert is_loopback_host(host)
    require_loopback(host)


@pytest.mark.parametrize(
    "host",
    [
        "0.0.0.0",
        "::",
        "[::]",
        "",
        "192.168.1.10",
        "10.0.0.1",
        "128.0.0.1",
        "::ffff:0.0.0.0",
        "::ffff:192.168.1.1",
        "fe80::1",
        "example.org",
        "localhost.example.org",
        "127.0.0.1.nip.io",
        "127.0.0.1:8000",
        "*",
    ],
)
def test_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)
    with pytest.raises(InvalidRequest) as err:
        require_loopback(host)
    assert "open mode" in err.value.detail
    assert "loopback" in err.value.detail


def test_warning_is_loud() -> None:
    text = open_mode_warning("127.0.0.1", 8000)
    assert "AUTHENTICATION IS OFF" in text
    assert "http://127.0.0.1:8000" in text
    assert text.splitlines()[0].startswith("!!!!")
    assert len({len(line) for line in text.splitlines()}) == 1  # a neat box
    assert "http://[::1]:9000" in open_mode_warning("::1", 9000)
