"""Database connections: read-only, time-limited and row-capped.

`connect(url)` takes ``sqlite:///path`` (or a path), ``postgresql://…`` or
``mysql://…`` (MySQL or MariaDB). Every query runs in a read-only transaction
(SQLite ``mode=ro`` plus ``query_only``; ``SET TRANSACTION READ ONLY`` with
``statement_timeout`` on PostgreSQL; a read-only session, ``START TRANSACTION READ ONLY``
and ``max_statement_time``/``max_execution_time`` on MariaDB/MySQL) and is rolled back.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from trifecta.specialists.sql._schema import Column, ForeignKey, Schema, Table

__all__ = ["Database", "QueryResult", "SqlExecutionError", "connect"]

SAMPLE_ROWS = 50
SAMPLES_PER_COLUMN = 3


class SqlExecutionError(RuntimeError):
    """The database refused or aborted the query."""


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of a query; `truncated` when the row cap cut it."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


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

    def execute(self, sql: str, *, max_rows: int = 1000, timeout: float = 5.0) -> QueryResult:
        """Run one query read-only, with a deadline and a row cap."""
        with self._lock:
            return self._execute(sql, max_rows, timeout)

    @abstractmethod
    def _execute(self, sql: str, max_rows: int, timeout: float) -> QueryResult: ...

    @abstractmethod
    def _introspect(self) -> Schema: ...

    @abstractmethod
    def close(self) -> None:
        """Release the connection, if any."""

    def _samples(
        self, table: str, columns: Sequence[str], quote: str
    ) -> dict[str, tuple[str, ...]]:
        result = self._execute(f"SELECT * FROM {quote}{table}{quote}", SAMPLE_ROWS, 5.0)
        out: dict[str, tuple[str, ...]] = {}
        for index, name in enumerate(result.columns):
            seen = dict.fromkeys(str(r[index])[:40] for r in result.rows if r[index] is not None)
            out[name] = tuple(list(seen)[:SAMPLES_PER_COLUMN])
        return {c: out.get(c, ()) for c in columns}


def _rows(cursor: Any, max_rows: int) -> QueryResult:
    rows = cursor.fetchmany(max_rows + 1)
    columns = [d[0] for d in cursor.description or ()]
    return QueryResult(columns, [tuple(r) for r in rows[:max_rows]], len(rows) > max_rows)


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

    def _execute(self, sql: str, max_rows: int, timeout: float) -> QueryResult:
        deadline = time.monotonic() + timeout
        with self._connection() as conn:
            conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            try:
                return _rows(conn.execute(sql), max_rows)
            except sqlite3.Error as exc:
                late = time.monotonic() > deadline
                raise SqlExecutionError(
                    f"timed out after {timeout:g}s" if late else str(exc)
                ) from exc

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
                samples = self._samples(name.replace('"', '""'), [r[1] for r in info], '"')
                columns = tuple(
                    Column(r[1], (r[2] or "TEXT").upper(), bool(r[5]), samples[r[1]]) for r in info
                )
                keys = tuple(ForeignKey(r[3], r[2], r[4] or "") for r in fks)
                tables[name] = Table(name, columns, keys)
        return Schema(tables)


class PostgresDatabase(Database):
    """PostgreSQL through psycopg; the schema is the connection's `current_schema()`."""

    dialect = "postgres"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._conn: Any = None

    def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            except psycopg.Error as exc:
                raise SqlExecutionError(f"cannot connect to PostgreSQL: {exc}") from exc
        return self._conn

    def _execute(self, sql: str, max_rows: int, timeout: float) -> QueryResult:
        import psycopg

        conn = self._connection()
        try:
            with conn.transaction(force_rollback=True):
                conn.execute("SET TRANSACTION READ ONLY")
                conn.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
                return _rows(conn.execute(sql), max_rows)
        except psycopg.errors.QueryCanceled as exc:
            raise SqlExecutionError(f"timed out after {timeout:g}s") from exc
        except psycopg.Error as exc:
            raise SqlExecutionError(str(exc).strip()) from exc

    def _introspect(self) -> Schema:
        rows = self._execute(_PG_COLUMNS, 100_000, 30.0).rows
        keys = self._execute(_PG_KEYS, 100_000, 30.0).rows
        primary = {(t, c) for kind, t, c, _, _ in keys if kind == "PRIMARY KEY"}
        foreign: dict[str, list[ForeignKey]] = {}
        for kind, table, column, ref_table, ref_column in keys:
            if kind == "FOREIGN KEY":
                foreign.setdefault(table, []).append(ForeignKey(column, ref_table, ref_column))
        return _assemble(self, rows, primary, foreign, '"')

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()


_PG_COLUMNS = """SELECT table_name, column_name, upper(data_type) FROM information_schema.columns
WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"""
_PG_KEYS = """SELECT tc.constraint_type, kcu.table_name, kcu.column_name, ccu.table_name, ccu.column_name
FROM information_schema.table_constraints tc
JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name AND tc.table_schema = kcu.table_schema
JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name AND tc.table_schema = ccu.table_schema
WHERE tc.table_schema = current_schema() AND tc.constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')"""


def _assemble(
    db: Database,
    rows: Sequence[tuple[Any, ...]],
    primary: set[tuple[str, str]],
    foreign: dict[str, list[ForeignKey]],
    quote: str,
) -> Schema:
    by_table: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        by_table.setdefault(table, []).append((column, kind))
    tables = {}
    for table, cols in by_table.items():
        samples = db._samples(table, [c for c, _ in cols], quote)
        columns = tuple(Column(c, k, (table, c) in primary, samples[c]) for c, k in cols)
        tables[table] = Table(table, columns, tuple(foreign.get(table, [])))
    return Schema(tables)


class MySQLDatabase(Database):
    """MySQL or MariaDB through PyMySQL."""

    dialect = "mysql"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._parts = urlparse(url)
        self._conn: Any = None
        self._limit_sql = ""

    def _connection(self) -> Any:
        import pymysql

        if self._conn is None or not self._conn.open:
            try:
                parts = self._parts
                self._conn = pymysql.connect(
                    host=parts.hostname or "127.0.0.1",
                    port=parts.port or 3306,
                    user=unquote(parts.username or "root"),
                    password=unquote(parts.password or ""),
                    database=parts.path.lstrip("/") or None,
                    connect_timeout=10,
                    autocommit=False,
                )
            except pymysql.Error as exc:
                raise SqlExecutionError(f"cannot connect to MySQL/MariaDB: {exc}") from exc
            with self._conn.cursor() as cur:
                # Session-wide, not just per transaction: DDL commits implicitly and would
                # otherwise run outside the read-only transaction.
                cur.execute("SET SESSION TRANSACTION READ ONLY")
                cur.execute("SELECT VERSION()")
                mariadb = "mariadb" in str(cur.fetchone()[0]).lower()
            self._limit_sql = (
                "SET SESSION max_statement_time = {s}"
                if mariadb
                else "SET SESSION max_execution_time = {ms}"
            )
        return self._conn

    def _execute(self, sql: str, max_rows: int, timeout: float) -> QueryResult:
        import pymysql

        conn = self._connection()
        try:
            with conn.cursor() as cur:
                cur.execute(self._limit_sql.format(s=timeout, ms=int(timeout * 1000)))
                cur.execute("START TRANSACTION READ ONLY")
                try:
                    cur.execute(sql)
                    return _rows(cur, max_rows)
                finally:
                    conn.rollback()
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] in (1969, 3024):  # MariaDB / MySQL: statement time exceeded
                raise SqlExecutionError(f"timed out after {timeout:g}s") from exc
            raise SqlExecutionError(str(exc)) from exc
        except pymysql.Error as exc:
            raise SqlExecutionError(str(exc)) from exc

    def _introspect(self) -> Schema:
        rows = self._execute(
            "SELECT table_name, column_name, upper(data_type) FROM information_schema.columns "
            "WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position", 100_000, 30.0
        ).rows  # fmt: skip
        keys = self._execute(
            "SELECT table_name, column_name, referenced_table_name, referenced_column_name, constraint_name "
            "FROM information_schema.key_column_usage WHERE table_schema = DATABASE()", 100_000, 30.0
        ).rows  # fmt: skip
        primary = {(t, c) for t, c, _, _, name in keys if name == "PRIMARY"}
        foreign: dict[str, list[ForeignKey]] = {}
        for table, column, ref_table, ref_column, _ in keys:
            if ref_table:
                foreign.setdefault(table, []).append(ForeignKey(column, ref_table, ref_column))
        return _assemble(self, rows, primary, foreign, "`")

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None and self._conn.open:
            self._conn.close()


def connect(url: str) -> Database:
    """Open the database at `url` (see the module docstring for the schemes)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else "sqlite"
    if scheme == "sqlite":
        return SQLiteDatabase(url)
    if scheme in ("postgresql", "postgres"):
        return PostgresDatabase(url)
    if scheme in ("mysql", "mariadb"):
        return MySQLDatabase(url.replace("mariadb://", "mysql://", 1))
    raise ValueError(
        f"unsupported database URL scheme {scheme!r}; use sqlite:///file, postgresql://… or mysql://…"
    )
