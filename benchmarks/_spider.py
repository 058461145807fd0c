"""Spider helpers for the SQL benchmark: load questions, copy the SQLite databases into
PostgreSQL and MariaDB, and compare result sets."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pymysql

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def questions(data: Path, limit: int | None) -> list[dict[str, Any]]:
    rows = [
        json.loads(line) for line in (data / "spider" / "questions.jsonl").read_text().splitlines()
    ]
    return rows[:limit]


def sqlite_path(data: Path, db_id: str) -> Path:
    return data / "spider" / "database" / db_id / f"{db_id}.sqlite"


def run_sqlite(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.text_factory = lambda b: b.decode("utf-8", "replace")
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | Decimal):
        return round(float(value), 4)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str) and (_INT.match(value) or _FLOAT.match(value)):
        return round(float(value), 4)  # '2014' in SQLite's text column, 2014 in the typed copy
    return value


def same_result(
    gold_sql: str, expected: Sequence[Sequence[Any]], got: Sequence[Sequence[Any]]
) -> bool:
    """Spider's comparison: multisets of rows, lists when the gold query orders them."""
    a = [tuple(map(_norm, r)) for r in expected]
    b = [tuple(map(_norm, r)) for r in got]
    if re.search(r"\border\s+by\b", gold_sql, re.I):
        return a == b
    return sorted(map(repr, a)) == sorted(map(repr, b))


_INT = re.compile(r"^-?[1-9]\d{0,17}$|^0$")
_FLOAT = re.compile(r"^-?\d+\.\d+$")


def _affinity(declared: str, values: list[Any]) -> str:
    """The column type from the stored values (SQLite compares '1' = 1 across an ID
    declared text in one table and int in another; PostgreSQL would not)."""
    present = [v for v in values if v is not None and v != ""]
    if present and all(
        isinstance(v, int) or (isinstance(v, str) and _INT.match(v)) for v in present
    ):
        return "BIGINT"
    numeric = (int, float)
    if present and all(
        isinstance(v, numeric) or (isinstance(v, str) and (_FLOAT.match(v) or _INT.match(v)))
        for v in present
    ):
        return "DOUBLE"
    if not present and any(
        k in declared.upper() for k in ("INT", "REAL", "FLOA", "DOUB", "NUM", "DEC")
    ):
        return "DOUBLE"
    return "TEXT"


def _tables(path: Path) -> list[tuple[str, list[str], list[str], list[tuple[Any, ...]]]]:
    conn = sqlite3.connect(path)
    conn.text_factory = lambda b: b.decode("utf-8", "replace")
    out = []
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for name in names:
        info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
        rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()
        types = [_affinity(col[2] or "", [r[i] for r in rows]) for i, col in enumerate(info)]
        out.append((name.lower(), [c[1].lower() for c in info], types, rows))
    conn.close()
    return out


def load_postgres(path: Path, db_id: str) -> str:
    schema = f"spider_{db_id.lower()}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        for table, columns, types, rows in _tables(path):
            cols = ", ".join(
                f'"{c}" {"DOUBLE PRECISION" if t == "DOUBLE" else t}'
                for c, t in zip(columns, types, strict=True)
            )
            conn.execute(f'CREATE TABLE "{schema}"."{table}" ({cols})')
            if rows:
                marks = ", ".join(["%s"] * len(columns))
                with conn.cursor() as cur:
                    cur.executemany(
                        f'INSERT INTO "{schema}"."{table}" VALUES ({marks})',
                        [_cast(r, types) for r in rows],
                    )
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def load_mysql(path: Path, db_id: str) -> str:
    name = f"spider_{db_id.lower()}"
    conn = pymysql.connect(**MYSQL, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        for table, columns, types, rows in _tables(path):
            cols = ", ".join(f"`{c}` {t}" for c, t in zip(columns, types, strict=True))
            cur.execute(f"CREATE TABLE `{name}`.`{table}` ({cols})")
            if rows:
                marks = ", ".join(["%s"] * len(columns))
                cur.executemany(
                    f"INSERT INTO `{name}`.`{table}` VALUES ({marks})",
                    [_cast(r, types) for r in rows],
                )
    conn.close()
    return f"mysql://root@127.0.0.1:3306/{name}"


def _cast(row: Sequence[Any], types: Sequence[str]) -> tuple[Any, ...]:
    converters: dict[str, Any] = {"TEXT": str, "BIGINT": int, "DOUBLE": float}
    return tuple(
        None if v is None or (v == "" and t != "TEXT") else converters[t](v)
        for v, t in zip(row, types, strict=True)
    )
