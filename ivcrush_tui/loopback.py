"""Whether a host is this machine: the one test behind every "plain http only on loopback" rule
(the config's base URLs, the stream URL a session names, `serve` and `web` binding)."""

from __future__ import annotations

import ipaddress
from typing import Final

__all__ = ["is_loopback"]

_LOOPBACK_NAMES: Final = frozenset(
    {"localhost", "localhost.", "localhost.localdomain", "ip6-localhost"}
)


def is_loopback(host: str) -> bool:
    """True for a loopback name or address (127.0.0.0/8, ::1, `localhost`), in any case, with or
    without the brackets of an IPv6 literal: traffic that never leaves the machine."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
