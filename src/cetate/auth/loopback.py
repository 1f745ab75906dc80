"""``cetate serve --open``: the one way to run without authentication, on loopback only."""

from __future__ import annotations

import ipaddress
from typing import Final

from cetate.errors import InvalidRequest

LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})

_WARNING_LINES: Final = (
    "OPEN MODE: AUTHENTICATION IS OFF",
    "",
    "Anyone who can reach http://{address}",
    "may read, write and delete everything in every tenant, with no credentials.",
    "Only for trying Cetate out on your own machine: never use it for real data.",
    "Restart without --open to turn authentication back on.",
)
_WIDTH: Final = 84


def is_loopback_host(host: str) -> bool:
    """Whether binding to ``host`` only accepts connections from this machine: an address in
    127.0.0.0/8, ``::1`` (also written ``[::1]`` or as IPv4-mapped ``::ffff:127.x.y.z``), or the
    name ``localhost``. Everything else is refused, notably ``0.0.0.0``, ``::`` and the empty
    string (all interfaces) and other names (no DNS lookups)."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name in LOOPBACK_NAMES:
        return True
    name = name.split("%", 1)[0]  # an IPv6 zone id does not change what the address is
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def require_loopback(host: str) -> None:
    """Raise :class:`~cetate.errors.InvalidRequest` unless :func:`is_loopback_host`."""
    if not is_loopback_host(host):
        raise InvalidRequest(
            f"refusing to start in open mode (no authentication) on {host!r}: open mode only "
            "binds to a loopback address (127.0.0.1, ::1 or localhost). Drop --open to serve "
            "other machines with authentication, or use --host 127.0.0.1"
        )


def open_mode_warning(host: str, port: int) -> str:
    """The banner ``cetate serve --open`` prints (to stderr) at start, framed in ``!``."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    address = f"{shown}:{port}"
    border = "!" * _WIDTH
    inner = _WIDTH - 8
    lines = [border]
    for text in _WARNING_LINES:
        lines.append(f"!!  {text.format(address=address):<{inner}}  !!")
    lines.append(border)
    return "\n".join(lines)
