"""The autouse guard that keeps unit tests on loopback."""

from __future__ import annotations

import socket

import pytest

from tests.net import is_loopback


@pytest.mark.parametrize(
    "address",
    [("127.0.0.1", 80), ("127.8.9.10", 1), ("::1", 80, 0, 0), ("localhost", 5432), "/tmp/sock"],
)
def test_loopback_and_unix_sockets_are_allowed(address: object) -> None:
    assert is_loopback(address)


@pytest.mark.parametrize(
    "address", [("192.0.2.1", 443), ("2001:db8::1", 443, 0, 0), ("api.openai.com", 443)]
)
def test_other_addresses_are_refused(address: object) -> None:
    assert not is_loopback(address)


def test_guard_is_installed() -> None:
    assert (
        socket.socket.connect.__name__ == "connect"
        and socket.socket.connect.__module__ == "tests.conftest"
    )
