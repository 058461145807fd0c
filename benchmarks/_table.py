"""Shared by the benchmarks: one printed table, percentiles, a free loopback port."""

from __future__ import annotations

import socket
import statistics
from collections.abc import Sequence

Row = tuple[str, str, str]


def percentiles(ms: Sequence[float], digits: int = 1) -> str:
    """``p50 … / p99 … ms``."""
    ordered = sorted(ms)
    p50, p99 = statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))]
    return f"p50 {p50:.{digits}f} / p99 {p99:.{digits}f} ms"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def print_table(rows: Sequence[Row]) -> None:
    """Print rows as one table: measure | value | note."""
    width, value_width = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    print(f"{'measure':<{width}} | {'value':<{value_width}} | note")
    print(f"{'-' * width}-|-{'-' * value_width}-|-----")
    for name, value, note in rows:
        print(f"{name:<{width}} | {value:<{value_width}} | {note}")
