"""Database connections: read-only, time-limited, row-capped. SQLite for now."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Database", "QueryResult", "SqlExecutionError"]


class SqlExecutionError(RuntimeError):
    """The database refused or aborted the query."""


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of a query; `truncated` when the row cap cut it."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


class Database:
    """A database the SQL specialist reads; opened read-only.

    Args:
        url: ``sqlite:///path/to/file.sqlite`` (or a plain path to a SQLite file).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = _sqlite_path(url)
        if not self.path.is_file():
            raise FileNotFoundError(f"no SQLite database at {self.path}")
        self.dialect = "sqlite"
        self._schema: dict[str, dict[str, str]] | None = None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(
            f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )

    def schema(self, refresh: bool = False) -> dict[str, dict[str, str]]:
        """Tables → columns → declared types (cached; `refresh` re-reads it)."""
        if self._schema is None or refresh:
            with self._connect() as conn:
                tables = [r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table','view') "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )]  # fmt: skip
                self._schema = {t: _columns(conn, t) for t in tables}
        return self._schema

    def execute(self, sql: str, *, max_rows: int = 1000, timeout: float = 5.0) -> QueryResult:
        """Run one read-only query with a deadline and a row cap."""
        deadline = time.monotonic() + timeout
        conn = self._connect()
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cursor = conn.execute(sql)
            rows = cursor.fetchmany(max_rows + 1)
            columns = [d[0] for d in cursor.description or ()]
        except sqlite3.Error as exc:
            late = time.monotonic() > deadline
            raise SqlExecutionError(f"timed out after {timeout:g}s" if late else str(exc)) from exc
        finally:
            conn.close()
        return QueryResult(columns, [tuple(r) for r in rows[:max_rows]], len(rows) > max_rows)


def _columns(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    quoted = '"' + table.replace('"', '""') + '"'
    return {
        row[1]: (row[2] or "TEXT").upper() for row in conn.execute(f"PRAGMA table_info({quoted})")
    }


def _sqlite_path(url: str) -> Path:
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise ValueError(f"unsupported database URL scheme {scheme!r}; use sqlite:///path/to/file")
    return Path(url)
