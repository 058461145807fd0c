"""Check a query and run it: the one path used by the specialist and `check sql`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from trifecta.specialists.sql._check import SqlRuleError, check_sql
from trifecta.specialists.sql._db import (
    MAX_CELL_BYTES,
    MAX_RESULT_BYTES,
    Database,
    SqlExecutionError,
)
from trifecta.verdict import CheckError, check_error

__all__ = ["SqlOutcome", "check_queries", "run_checked"]


@dataclass(frozen=True)
class SqlOutcome:
    """A query's verdict: `checked` (every rule passed and it ran) or `rejected`."""

    status: str
    errors: list[CheckError] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    truncated: bool = False
    sql_executed: str | None = None

    def to_dict(self, query_id: Any = None) -> dict[str, Any]:
        """The JSON line written by ``trifecta check sql``."""
        return {
            "id": query_id,
            "status": self.status,
            "errors": self.errors,
            "columns": self.columns,
            "rows": self.rows,
            "row_count": len(self.rows),
            "truncated": self.truncated,
            "sql_executed": self.sql_executed,
        }


def run_checked(
    database: Database,
    sql: str,
    *,
    read: str | None = None,
    max_rows: int = 1000,
    timeout: float = 5.0,
    allow_functions: Iterable[str] = (),
    max_cell_bytes: int = MAX_CELL_BYTES,
    max_result_bytes: int = MAX_RESULT_BYTES,
) -> SqlOutcome:
    """Check `sql` against the database's schema, then run it read-only.

    `allow_functions` extends the dialect's function allowlist; the byte caps are
    `Database.execute`'s.
    """
    try:
        checked = check_sql(
            sql,
            database.schema(),
            dialect=database.dialect,
            read=read,
            max_rows=max_rows,
            allow_functions=allow_functions,
        )
    except SqlRuleError as exc:
        return SqlOutcome("rejected", [check_error(exc.rule, exc.message, exc.position)])
    final = checked.final_sql
    try:
        result = database.execute(
            final,
            max_rows=max_rows,
            timeout=timeout,
            max_cell_bytes=max_cell_bytes,
            max_result_bytes=max_result_bytes,
        )
    except SqlExecutionError as exc:
        return SqlOutcome("rejected", [check_error("execute", str(exc))], sql_executed=final)
    rows = [list(row) for row in result.rows]
    return SqlOutcome("checked", [], result.columns, rows, result.truncated, final)


def check_queries(
    database: Database,
    items: Iterable[Any],
    *,
    read: str | None = None,
    max_rows: int = 1000,
    timeout: float = 5.0,
    allow_functions: Iterable[str] = (),
) -> Iterator[dict[str, Any]]:
    """Check and run ``{"id", "sql"}`` items in order, yielding one result dict each.

    An item that is not such an object (or an `Exception`, e.g. a line that was not
    JSON) yields a rejected result with the reason. `allow_functions` extends the
    dialect's function allowlist.
    """
    allow = tuple(allow_functions)
    for item in items:
        if isinstance(item, Exception):
            yield SqlOutcome("rejected", [check_error("input", str(item))]).to_dict()
        elif not isinstance(item, dict) or not isinstance(item.get("sql"), str):
            qid = item.get("id") if isinstance(item, dict) else None
            yield SqlOutcome("rejected", [check_error("input", 'expected {"id", "sql"}')]).to_dict(
                qid
            )
        else:
            outcome = run_checked(
                database,
                item["sql"],
                read=read,
                max_rows=max_rows,
                timeout=timeout,
                allow_functions=allow,
            )
            yield outcome.to_dict(item.get("id"))
