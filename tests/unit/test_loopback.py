"""The one loopback test behind the plain-http rules (config base URLs, stream URL, serve/web)."""

from __future__ import annotations

import pytest

from ivcrush_tui.loopback import is_loopback


@pytest.mark.parametrize(
    "host",
    ["localhost", "LocalHost", "localhost.", "ip6-localhost", "127.0.0.1", "127.8.9.10", "::1",
     "[::1]", " 127.0.0.1 "],
)  # fmt: skip
def test_loopback_names_and_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    ["", "0.0.0.0", "10.0.0.1", "192.168.1.2", "::", "localhost.evil.example", "evil.localhost",
     "[::2]", "example.com"],
)  # fmt: skip
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)
