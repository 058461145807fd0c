"""Loopback addresses and helpers for tests that start or reach servers."""

from __future__ import annotations

import ipaddress
import os
import socket
import time
import urllib.request
from typing import Any

PG_URL = os.environ.get("TRIFECTA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
"""The machine's PostgreSQL (trust auth), database ``test``."""
MYSQL_URL = os.environ.get("TRIFECTA_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")
"""The machine's MariaDB (root, no password), database ``test``."""


def is_loopback(address: Any) -> bool:
    """True for a socket address on this machine (loopback IP, ``localhost``, AF_UNIX path)."""
    if not isinstance(address, tuple):  # AF_UNIX paths
        return True
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, seconds: float = 60) -> None:
    """Poll `url` until it answers; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up within {seconds:g}s")
