"""The offline demo: a small shop database and policy documents in a data dir."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["DEMO_REQUEST", "build_demo_data"]

DEMO_REQUEST = (
    "Integrate x^2 from 0 to 3. How many orders are over 100 dollars? "
    "What is the refund window in the returns policy?"
)

_CUSTOMERS = [(1, "Ada Lovelace", "London"), (2, "Alan Turing", "Manchester"),
              (3, "Grace Hopper", "New York"), (4, "Edsger Dijkstra", "Austin")]  # fmt: skip
_PRODUCTS = [(1, "Keyboard", 49.0), (2, "Monitor", 189.0), (3, "Laptop stand", 35.5),
             (4, "Headphones", 120.0), (5, "USB cable", 9.99)]  # fmt: skip
_ORDERS = [(1, 1, "2026-01-05", 238.0), (2, 2, "2026-01-09", 49.0), (3, 3, "2026-02-11", 120.0),
           (4, 1, "2026-02-20", 19.98), (5, 4, "2026-03-02", 378.0), (6, 2, "2026-03-15", 100.0),
           (7, 3, "2026-04-01", 155.5), (8, 4, "2026-04-18", 35.5)]  # fmt: skip

_DOCS = {
    "returns.md": """# Returns policy

## Refund window
The refund window is 30 days from the date of delivery. Items returned within the
refund window are refunded to the original payment method within 5 business days.

## Condition of returned items
Items must be unused and in their original packaging. Opened software cannot be returned.
""",
    "shipping.md": """# Shipping

## Delivery times
Standard delivery takes 3 to 5 business days. Express delivery arrives the next business day.

## Costs
Shipping is free on orders over 50 dollars; otherwise it costs 4.99 dollars.
""",
    "warranty.md": """# Warranty

All electronics carry a two-year limited warranty covering manufacturing defects.
The warranty does not cover accidental damage or normal wear.
""",
}


def _build_db(path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(tmp) as conn:
        conn.executescript(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT);"
            "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL);"
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),"
            " ordered_on TEXT NOT NULL, total REAL NOT NULL);"
        )
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?)", _CUSTOMERS)
        conn.executemany("INSERT INTO products VALUES (?, ?, ?)", _PRODUCTS)
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", _ORDERS)
    conn.close()
    tmp.replace(path)


def build_demo_data(data_dir: Path) -> tuple[str, Path]:
    """Create (or refresh) ``shop.sqlite`` and ``docs/`` under `data_dir`.

    Returns:
        The database URL and the documents folder.
    """
    demo = data_dir / "demo"
    docs = demo / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    db = demo / "shop.sqlite"
    _build_db(db)
    for name, text in _DOCS.items():
        (docs / name).write_text(text, "utf-8")
    return f"sqlite:///{db}", docs
