"""Database connections: read-only, time-limited and row-capped.

`connect(url)` takes ``sqlite:///path`` (or a path), ``postgresql://…`` or
``mysql://…`` (MySQL or MariaDB). Every query runs in a read-only transaction
(SQLite ``mode=ro`` plus ``query_only``; ``SET TRANSACTION READ ONLY`` with
``statement_timeout`` on PostgreSQL; a read-only session, ``START TRANSACTION READ ONLY``
and ``max_statement_time``/``max_execution_time`` on MariaDB/MySQL) and is rolled back.

Rows are streamed (a server-side stream on PostgreSQL, an unbuffered cursor on MySQL),
so the client holds at most the row cap, and every value and the whole result are
measured as they arrive against a byte cap. SQLite also caps the length of every string
and blob the query builds (``SQLITE_LIMIT_LENGTH``), so no single function call can
build a huge value between two checks of the deadline.
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
from urllib.parse import unquote, urlparse

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
MAX_CELL_BYTES = 1_000_000
"""Default cap on one value of a result, in bytes (UTF-8 for text)."""
MAX_RESULT_BYTES = 16_000_000
"""Default cap on all the values of a result together, in bytes."""
PROGRESS_STEPS = 1_000  # SQLite virtual-machine steps between two deadline checks


class SqlExecutionError(RuntimeError):
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


_INTROSPECTION = Limits(100_000, 30.0, MAX_CELL_BYTES, 256_000_000)
_SAMPLING = Limits(SAMPLE_ROWS, 5.0)


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

    def _samples(
        self, namespace: str, table: str, columns: Sequence[str], quote: str
    ) -> dict[str, tuple[str, ...]]:
        name = ".".join(_quoted(part, quote) for part in (namespace, table) if part)
        try:
            result = self._execute(f"SELECT * FROM {name} LIMIT {SAMPLE_ROWS}", _SAMPLING)
        except SqlExecutionError:  # e.g. a value over the byte cap: no samples
            return dict.fromkeys(columns, ())
        out: dict[str, tuple[str, ...]] = {}
        for index, name in enumerate(result.columns):
            seen = dict.fromkeys(str(r[index])[:40] for r in result.rows if r[index] is not None)
            out[name] = tuple(list(seen)[:SAMPLES_PER_COLUMN])
        return {c: out.get(c, ()) for c in columns}


def _quoted(name: str, quote: str) -> str:
    return quote + name.replace(quote, quote * 2) + quote


def _columns(cursor: Any) -> list[str]:
    return [d[0] for d in cursor.description or ()]


def _collect(rows: Iterable[Sequence[Any]], limits: Limits) -> tuple[list[tuple[Any, ...]], bool]:
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
                rows, truncated = _collect(cursor, limits)
                return QueryResult(_columns(cursor), rows, truncated)
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


class PostgresDatabase(Database):
    """PostgreSQL through psycopg; the schema is the tables of the connection's search
    path (`current_schemas(false)`, the first schema holding a name wins; system schemas
    never)."""

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

    def _execute(self, sql: str, limits: Limits) -> QueryResult:
        import psycopg

        conn = self._connection()
        deadline = time.monotonic() + limits.timeout
        try:
            with conn.transaction(force_rollback=True):
                conn.execute("SET TRANSACTION READ ONLY")
                conn.execute("SET LOCAL cursor_tuple_fraction = 1")  # plan for the whole result
                _statement_timeout(conn, deadline)
                # A server-side cursor: rows come in batches, nothing past the cap is read.
                with conn.cursor(name="trifecta_query") as cursor:
                    cursor.execute(sql)
                    rows, truncated = _collect(_batches(conn, cursor, deadline), limits)
                    return QueryResult(_columns(cursor), rows, truncated)
        except psycopg.errors.QueryCanceled as exc:
            raise SqlExecutionError(f"timed out after {limits.timeout:g}s") from exc
        except psycopg.Error as exc:
            raise SqlExecutionError(str(exc).strip()) from exc

    def _introspect(self) -> Schema:
        rows = self._execute(_PG_COLUMNS, _INTROSPECTION).rows
        keys = self._execute(_PG_KEYS, _INTROSPECTION).rows
        primary = {(n, t, c) for kind, n, t, c, _, _ in keys if kind == "PRIMARY KEY"}
        foreign: dict[tuple[str, str], list[ForeignKey]] = {}
        for kind, namespace, table, column, ref_table, ref_column in keys:
            if kind == "FOREIGN KEY":
                fk = ForeignKey(column, ref_table, ref_column)
                foreign.setdefault((namespace, table), []).append(fk)
        return _assemble(self, rows, primary, foreign, '"')

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()


def _statement_timeout(conn: Any, deadline: float) -> None:
    """What is left of the deadline becomes the timeout of the next statement."""
    left = deadline - time.monotonic()
    if left <= 0:
        import psycopg

        raise psycopg.errors.QueryCanceled("deadline passed between batches")
    conn.execute(f"SET LOCAL statement_timeout = {max(1, int(left * 1000))}")


def _batches(conn: Any, cursor: Any, deadline: float, size: int = 100) -> Iterator[Any]:
    """Rows of a server-side cursor, `size` at a time, each FETCH within the deadline."""
    while True:
        _statement_timeout(conn, deadline)
        batch = cursor.fetchmany(size)
        if not batch:
            return
        yield from batch


_PG_PATH = """table_schema::name = ANY (current_schemas(false))
AND table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg\\_%'"""
_PG_COLUMNS = f"""SELECT table_schema, table_name, column_name, upper(data_type)
FROM information_schema.columns WHERE {_PG_PATH}
ORDER BY array_position(current_schemas(false), table_schema::name), table_name, ordinal_position"""
_PG_KEYS = f"""SELECT tc.constraint_type, kcu.table_schema, kcu.table_name, kcu.column_name, ccu.table_name, ccu.column_name
FROM information_schema.table_constraints tc
JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name AND tc.table_schema = kcu.table_schema
JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name AND tc.table_schema = ccu.table_schema
WHERE tc.{_PG_PATH.replace("AND table_schema", "AND tc.table_schema")} AND tc.constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')"""


def _assemble(
    db: Database,
    rows: Sequence[tuple[Any, ...]],
    primary: set[tuple[str, str, str]],
    foreign: dict[tuple[str, str], list[ForeignKey]],
    quote: str,
) -> Schema:
    """Tables from ``(namespace, table, column, type)`` rows in search-path order: the
    first namespace holding a name wins, as it would for an unqualified reference."""
    by_table: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for namespace, table, column, kind in rows:
        owner, cols = by_table.setdefault(table, (namespace, []))
        if owner == namespace:
            cols.append((column, kind))
    tables = {}
    for table, (namespace, cols) in by_table.items():
        samples = db._samples(namespace, table, [c for c, _ in cols], quote)
        columns = tuple(Column(c, k, (namespace, table, c) in primary, samples[c]) for c, k in cols)
        keys = tuple(foreign.get((namespace, table), []))
        tables[table] = Table(table, columns, keys, namespace)
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

    def _execute(self, sql: str, limits: Limits) -> QueryResult:
        import pymysql
        from pymysql.cursors import SSCursor

        conn = self._connection()
        try:
            with conn.cursor() as cur:
                cur.execute(self._limit_sql.format(s=limits.timeout, ms=int(limits.timeout * 1000)))
                cur.execute("START TRANSACTION READ ONLY")
            cursor = conn.cursor(SSCursor)  # unbuffered: rows are read as they are kept
            try:
                cursor.execute(sql)
                rows, truncated = _collect(cursor, limits)
                return QueryResult(_columns(cursor), rows, truncated)
            finally:
                self._finish(cursor)
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] in (1969, 3024):  # MariaDB / MySQL: statement time exceeded
                raise SqlExecutionError(f"timed out after {limits.timeout:g}s") from exc
            raise SqlExecutionError(str(exc)) from exc
        except pymysql.Error as exc:
            raise SqlExecutionError(str(exc)) from exc

    def _finish(self, cursor: Any) -> None:
        """Read past what was kept (bounded by the query's LIMIT and the statement time)
        and roll back; a connection that cannot is dropped and opened afresh next time."""
        import pymysql

        try:
            cursor.close()
            self._conn.rollback()
        except pymysql.Error:
            self.close()
            self._conn = None

    def _introspect(self) -> Schema:
        rows = self._execute(
            "SELECT table_schema, table_name, column_name, upper(data_type) FROM information_schema.columns "
            "WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position", _INTROSPECTION
        ).rows  # fmt: skip
        keys = self._execute(
            "SELECT table_schema, table_name, column_name, referenced_table_name, referenced_column_name, "
            "constraint_name FROM information_schema.key_column_usage WHERE table_schema = DATABASE()",
            _INTROSPECTION,
        ).rows  # fmt: skip
        primary = {(n, t, c) for n, t, c, _, _, name in keys if name == "PRIMARY"}
        foreign: dict[tuple[str, str], list[ForeignKey]] = {}
        for namespace, table, column, ref_table, ref_column, _ in keys:
            if ref_table:
                fk = ForeignKey(column, ref_table, ref_column)
                foreign.setdefault((namespace, table), []).append(fk)
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
