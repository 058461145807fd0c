"""The PostgreSQL and MySQL/MariaDB backends of `connect` (see `_db` for what every
backend guarantees)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from typing import Any
from urllib.parse import unquote, urlparse

from trifecta.specialists.sql._db import (
    INTROSPECTION,
    Database,
    Limits,
    QueryResult,
    SqlExecutionError,
    collect_rows,
    column_names,
)
from trifecta.specialists.sql._schema import Column, ForeignKey, Schema, Table

__all__ = ["MySQLDatabase", "PostgresDatabase"]


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
        try:
            with conn.transaction(force_rollback=True):
                conn.execute("SET TRANSACTION READ ONLY")
                conn.execute(f"SET LOCAL statement_timeout = {max(1, int(limits.timeout * 1000))}")
                cursor = conn.cursor()
                # Single-row mode: one row in memory at a time; leaving early cancels the query.
                with closing(cursor.stream(_guarded(sql, _row_guard(limits)))) as stream:
                    rows, truncated = collect_rows(stream, limits)
                    if truncated:
                        next(stream, None)  # a LIMITed result ends here: no cancel needed
                return QueryResult(_names(conn, cursor, sql), rows, truncated)
        except psycopg.errors.QueryCanceled as exc:
            raise SqlExecutionError(f"timed out after {limits.timeout:g}s") from exc
        except psycopg.errors.InvalidTextRepresentation as exc:
            if _GUARD in str(exc):
                raise SqlExecutionError(
                    f"the result exceeds the cap of {limits.max_result_bytes:,} bytes "
                    f"(the server refused a row over {_row_guard(limits):,} bytes)"
                ) from exc
            raise SqlExecutionError(str(exc).strip()) from exc
        except psycopg.Error as exc:
            raise SqlExecutionError(str(exc).strip()) from exc

    def _introspect(self) -> Schema:
        rows = self._execute(_PG_COLUMNS, INTROSPECTION).rows
        keys = self._execute(_PG_KEYS, INTROSPECTION).rows
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


_GUARD = "trifecta: row over the cap"


def _row_guard(limits: Limits) -> int:
    """Bytes of a row past which the server refuses it: no such row fits the result cap
    (twice it, as bytea travels in hex)."""
    return 2 * limits.max_result_bytes + 1024


def _guarded(sql: str, max_bytes: int) -> str:
    """`sql` with each row measured on the server (`pg_column_size`, once per row), which
    raises for a row over `max_bytes`: PostgreSQL sends a value whole (up to 1 GB), so
    the client's byte caps alone would see it only once it had arrived."""
    fail = f"CAST('{_GUARD}: ' || g.n AS integer) = 0"
    inner = sql.strip().rstrip(";")
    return (
        f"SELECT q.* FROM (\n{inner}\n) AS q, LATERAL (SELECT pg_column_size(q) AS n OFFSET 0) AS g "
        f"WHERE CASE WHEN g.n > {max_bytes} THEN {fail} ELSE true END"
    )


def _names(conn: Any, cursor: Any, sql: str) -> list[str]:
    """Column names of the streamed result; a stream with no rows has none, so an empty
    result is described by declaring a cursor for it (which runs nothing)."""
    if cursor.description is not None:
        return column_names(cursor)
    with conn.cursor(name="trifecta_describe") as described:
        described.execute(sql)
        return column_names(described)


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


_WARNED = ("Warning", "Error")  # a Note (e.g. 1003) changes no value


def _refuse_warnings(conn: Any, cursor: Any, truncated: bool) -> None:
    """Raise when the server warned about the statement it just ran: a value it cut
    (1260 GROUP_CONCAT, 1301 over max_allowed_packet), replaced (1365 division by 0 is
    NULL) or coerced (1292), or a scan it stopped (1931), so the rows are not the answer.
    The rest of the result is read first (the warnings come at its end); an error in rows
    past the row cap leaves the kept rows standing, unread warnings and all.

    Raises:
        SqlExecutionError: naming each warning's code and message.
    """
    import pymysql

    try:
        cursor.close()
    except pymysql.Error:
        if truncated:
            return
        raise
    result = getattr(cursor, "_result", None)  # PyMySQL keeps the count of the end packet
    if not getattr(result, "warning_count", 1):
        return  # SHOW WARNINGS would repeat an older statement's (a SELECT 1 clears none)
    with conn.cursor() as cur:
        cur.execute("SHOW WARNINGS")
        warned = [
            f"{code} {message}" for level, code, message in cur.fetchall() if level in _WARNED
        ]
    if warned:
        raise SqlExecutionError(
            "the server changed or cut the result and warned: " + "; ".join(warned[:3])
        )


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
                rows, truncated = collect_rows(cursor, limits)
                columns = column_names(cursor)
                _refuse_warnings(conn, cursor, truncated)
                return QueryResult(columns, rows, truncated)
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
            "WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position", INTROSPECTION
        ).rows  # fmt: skip
        keys = self._execute(
            "SELECT table_schema, table_name, column_name, referenced_table_name, referenced_column_name, "
            "constraint_name FROM information_schema.key_column_usage WHERE table_schema = DATABASE()",
            INTROSPECTION,
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
