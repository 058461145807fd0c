"""Database connections: read-only, time-limited and row-capped.

`connect(url)` takes ``sqlite:///path`` (or a path), ``postgresql://…`` or
``mysql://…`` (MySQL or MariaDB). Every query runs in a read-only transaction
(SQLite ``mode=ro`` plus ``query_only``; ``SET TRANSACTION READ ONLY`` with
``statement_timeout`` on PostgreSQL; a read-only session, ``START TRANSACTION READ ONLY``
and ``max_statement_time``/``max_execution_time`` on MariaDB/MySQL) and is rolled back.

Rows are streamed (single-row mode on PostgreSQL, an unbuffered cursor on MySQL, the
cursor itself on SQLite), so rows past the cap are never read, and every value and the
whole result are measured as they arrive against byte caps. PostgreSQL sends a value
whole, so its server also refuses any row larger than twice the result cap before
sending it; MySQL/MariaDB's own bound is ``max_allowed_packet``. SQLite caps the length of
every string and blob the query builds (``SQLITE_LIMIT_LENGTH``), so no single function
call can build a huge value between two checks of the deadline.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlglot import exp

from trifecta.errors import RunError, UserError
from trifecta.specialists.sql._schema import Column, ForeignKey, Schema, Table

__all__ = [
    "MAX_CELL_BYTES",
    "MAX_RESULT_BYTES",
    "Database",
    "QueryResult",
    "SqlExecutionError",
    "connect",
]

SAMPLE_ROWS = 50
SAMPLES_PER_COLUMN = 3
MAX_DISTINCT = 200
"""More distinct values than this make a column free text, not a category to filter on."""
VALUE_SCAN_ROWS = 100_000
MAX_CELL_BYTES = 1_000_000
"""Default cap on one value of a result, in bytes (UTF-8 for text)."""
MAX_RESULT_BYTES = 16_000_000
"""Default cap on all the values of a result together, in bytes."""
PROGRESS_STEPS = 1_000  # SQLite virtual-machine steps between two deadline checks


class SqlExecutionError(RunError):
    """The database refused or aborted the query."""


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of a query; `truncated` when the row cap cut it."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


@dataclass(frozen=True)
class Limits:
    """Caps on one query: rows kept, seconds, bytes per value and per result."""

    max_rows: int = 1000
    timeout: float = 5.0
    max_cell_bytes: int = MAX_CELL_BYTES
    max_result_bytes: int = MAX_RESULT_BYTES


INTROSPECTION = Limits(100_000, 30.0, MAX_CELL_BYTES, 256_000_000)
SAMPLING = Limits(SAMPLE_ROWS, 5.0)


class Database(ABC):
    """A database the SQL specialist reads. Subclasses implement one backend."""

    dialect: str

    def __init__(self, url: str) -> None:
        self.url = url
        self._schema: Schema | None = None
        self._lock = threading.Lock()

    def schema(self, refresh: bool = False) -> Schema:
        """Tables, columns, keys and sample values (cached; `refresh` re-reads them)."""
        with self._lock:
            if self._schema is None or refresh:
                self._schema = self._introspect()
            return self._schema

    def execute(
        self,
        sql: str,
        *,
        max_rows: int = 1000,
        timeout: float = 5.0,
        max_cell_bytes: int = MAX_CELL_BYTES,
        max_result_bytes: int = MAX_RESULT_BYTES,
    ) -> QueryResult:
        """Run one query read-only, with a deadline, a row cap and byte caps.

        Rows past `max_rows` are not fetched (`truncated` tells); a value over
        `max_cell_bytes` or a result over `max_result_bytes` raises `SqlExecutionError`.
        """
        limits = Limits(max_rows, timeout, max_cell_bytes, max_result_bytes)
        with self._lock:
            return self._execute(sql, limits)

    @abstractmethod
    def _execute(self, sql: str, limits: Limits) -> QueryResult: ...

    @abstractmethod
    def _introspect(self) -> Schema: ...

    @abstractmethod
    def close(self) -> None:
        """Release the connection, if any."""

    def stored_values(self, table: str, column: str, limit: int = MAX_DISTINCT) -> tuple[str, ...]:
        """The distinct values of a text column, read from its first `VALUE_SCAN_ROWS`
        rows; empty when there are more than `limit` (a free-text column, not a category)
        or the query fails."""
        stored = self.schema().tables[table]
        source = exp.table_(table, db=stored.namespace or None, quoted=True)
        inner = exp.select(exp.column(column, quoted=True)).from_(source).limit(VALUE_SCAN_ROWS)
        query = exp.select("*").distinct().from_(inner.subquery("v")).limit(limit + 1)
        try:
            result = self.execute(query.sql(dialect=self.dialect), max_rows=limit + 1)
        except SqlExecutionError:
            return ()
        values = tuple(str(r[0]) for r in result.rows if r[0] is not None)
        return values if len(result.rows) <= limit else ()

    def _samples(
        self, namespace: str, table: str, columns: Sequence[str], quote: str
    ) -> dict[str, tuple[str, ...]]:
        name = ".".join(_quoted(part, quote) for part in (namespace, table) if part)
        try:
            result = self._execute(f"SELECT * FROM {name} LIMIT {SAMPLE_ROWS}", SAMPLING)
        except SqlExecutionError:  # e.g. a value over the byte cap: no samples
            return dict.fromkeys(columns, ())
        out: dict[str, tuple[str, ...]] = {}
        for index, name in enumerate(result.columns):
            seen = dict.fromkeys(str(r[index])[:40] for r in result.rows if r[index] is not None)
            out[name] = tuple(list(seen)[:SAMPLES_PER_COLUMN])
        return {c: out.get(c, ()) for c in columns}


def _quoted(name: str, quote: str) -> str:
    return quote + name.replace(quote, quote * 2) + quote


def column_names(cursor: Any) -> list[str]:
    return [d[0] for d in cursor.description or ()]


def collect_rows(
    rows: Iterable[Sequence[Any]], limits: Limits
) -> tuple[list[tuple[Any, ...]], bool]:
    """Keep up to `max_rows` rows, measuring each value as it arrives; the row after the
    cap only says the result was truncated."""
    kept: list[tuple[Any, ...]] = []
    total = 0
    for row in rows:
        if len(kept) == limits.max_rows:
            return kept, True
        for value in row:
            size = _size(value)
            if size > limits.max_cell_bytes:
                raise SqlExecutionError(
                    f"a value of {size:,} bytes exceeds the cap of {limits.max_cell_bytes:,} "
                    "bytes per cell"
                )
            total += size
        if total > limits.max_result_bytes:
            raise SqlExecutionError(
                f"the result exceeds the cap of {limits.max_result_bytes:,} bytes "
                f"after {len(kept) + 1} row(s)"
            )
        kept.append(tuple(row))
    return kept, False


def _size(value: Any) -> int:
    """Bytes a value takes: UTF-8 length of text, length of binary data, else of its text."""
    if value is None or isinstance(value, bool | int | float):
        return 8
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    text = value if isinstance(value, str) else str(value)
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class SQLiteDatabase(Database):
    """A SQLite file, opened with ``mode=ro`` and ``PRAGMA query_only``."""

    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.path = Path(url.removeprefix("sqlite:///"))
        if not self.path.is_file():
            raise FileNotFoundError(f"no SQLite database at {self.path}")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(
            f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA query_only = 1")
            yield conn
        finally:
            conn.close()

    def _execute(self, sql: str, limits: Limits) -> QueryResult:
        deadline = time.monotonic() + limits.timeout
        with self._connection() as conn:
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits.max_cell_bytes)
            conn.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
            try:
                cursor = conn.execute(sql)
                rows, truncated = collect_rows(cursor, limits)
                return QueryResult(column_names(cursor), rows, truncated)
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, limits, time.monotonic() > deadline) from exc

    def close(self) -> None:
        """Nothing to release: each query opens its own read-only connection."""

    def _introspect(self) -> Schema:
        with self._connection() as conn:
            names = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )]  # fmt: skip
            tables = {}
            for name in names:
                quoted = '"' + name.replace('"', '""') + '"'
                info = conn.execute(f"PRAGMA table_info({quoted})").fetchall()
                fks = conn.execute(f"PRAGMA foreign_key_list({quoted})").fetchall()
                samples = self._samples("main", name, [r[1] for r in info], '"')
                columns = tuple(
                    Column(r[1], (r[2] or "TEXT").upper(), bool(r[5]), samples[r[1]]) for r in info
                )
                keys = tuple(ForeignKey(r[3], r[2], r[4] or "") for r in fks)
                tables[name] = Table(name, columns, keys, "main")
        return Schema(tables)


def _sqlite_error(exc: sqlite3.Error, limits: Limits, late: bool) -> SqlExecutionError:
    if late:
        return SqlExecutionError(f"timed out after {limits.timeout:g}s")
    if getattr(exc, "sqlite_errorname", "") == "SQLITE_TOOBIG":
        return SqlExecutionError(
            f"a value exceeds the cap of {limits.max_cell_bytes:,} bytes per cell "
            "(SQLite: string or blob too big)"
        )
    return SqlExecutionError(str(exc))


def connect(url: str) -> Database:
    """Open the database at `url` (see the module docstring for the schemes)."""
    from trifecta.specialists.sql._servers import MySQLDatabase, PostgresDatabase

    scheme = url.split("://", 1)[0].lower() if "://" in url else "sqlite"
    if scheme == "sqlite":
        return SQLiteDatabase(url)
    if scheme in ("postgresql", "postgres"):
        return PostgresDatabase(url)
    if scheme in ("mysql", "mariadb"):
        return MySQLDatabase(url.replace("mariadb://", "mysql://", 1))
    raise UserError(
        f"unsupported database URL scheme {scheme!r}; use sqlite:///file, postgresql://… or mysql://…"
    )
