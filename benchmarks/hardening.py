"""Hardening benchmark (issue 12): hostile input tried against every door, and how much
of it was contained.

- SQL escapes per database (PostgreSQL, MariaDB, SQLite; connected as superuser/root so
  only the checker stands in the way): `_hardening_sql.py`.
- Server hostile inputs against a real `trifecta serve` on loopback, and the latency of
  a small request idle and while a hostile one is in flight: `_hardening_server.py`.
- Audit-log tampering and CLI bad input: `_hardening_audit.py`.

Throughput before/after is `benchmarks/serve.py`'s table (run it on both commits).

Run: .venv/bin/python benchmarks/hardening.py
Prints one table.
"""

from __future__ import annotations

from _hardening_audit import audit_rows, cli_rows
from _hardening_server import loaded_latency, server_rows
from _hardening_sql import sql_rows
from _table import Row, print_table


def _contained(rows: list[tuple[str, int, int]]) -> list[Row]:
    return [
        (
            category,
            f"{contained} of {tried}",
            "fully contained" if contained == tried else "NOT contained",
        )
        for category, tried, contained in rows
    ]


def main() -> int:
    rows = _contained(sql_rows() + server_rows() + audit_rows() + cli_rows())
    idle, loaded = loaded_latency()  # medians, ms
    ratio = loaded / idle if idle else float("inf")
    rows.append(
        (
            "small request latency, idle / beside a hostile one",
            f"{idle:.1f} / {loaded:.1f} ms",
            f"{ratio:.2f}x; target within 2x",
        )
    )
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
