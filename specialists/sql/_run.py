"""Check a query and run it: the one path used by the specialist and `check sql`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from trifecta.specialists.sql._check import RULES, SqlRuleError, check_sql
from trifecta.specialists.sql._db import (
    MAX_CELL_BYTES,
    MAX_RESULT_BYTES,
    Database,
    SqlExecutionError,
)
from trifecta.verdict import CheckVerdict, Verdict, check_error

__all__ = ["check_queries", "query_line", "run_checked"]

_ANSWER_ROWS = 10  # rows a checked query's answer text shows


def _data(
    sql: str | None, columns: list[str], rows: list[list[Any]], truncated: bool
) -> dict[str, Any]:
    return {"sql": sql, "columns": columns, "rows": rows, "truncated": truncated}


def _rejected(
    rule: str, message: str, position: int | None = None, sql: str | None = None
) -> Verdict:
    method = {"execute": "execution", "input": "input"}.get(rule, f"sqlglot: {rule}")
    errors = (check_error(rule, message, position),)
    return Verdict("rejected", method, errors=errors, data=_data(sql, [], [], False))


def _answer(columns: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "no rows"
    if len(rows) == 1 and len(columns) == 1:
        value = rows[0][0]
        return "no value (NULL)" if value is None else str(value)
    shown = "; ".join(", ".join(map(str, row)) for row in rows[:_ANSWER_ROWS])
    more = f" … ({len(rows)} rows)" if len(rows) > _ANSWER_ROWS else ""
    return f"{', '.join(columns)}: {shown}{more}"


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
) -> Verdict:
    """Check `sql` against the database's schema, then run it read-only.

    The verdict is `checked` (every rule passed and it ran; its answer is the rows as
    text) or `rejected` (the rule that failed, or ``execute``). Its `data` is the query
    as run: ``sql`` (the query executed, None when the rules refused it), ``columns``,
    ``rows`` and ``truncated``. `allow_functions` extends the dialect's function
    allowlist; the byte caps are `Database.execute`'s.
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
        return _rejected(exc.rule, exc.message, exc.position)
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
        return _rejected("execute", str(exc), sql=final)
    rows = [list(row) for row in result.rows]
    evidence = (
        f"query passed {len(RULES)} rules: {', '.join(r.__name__ for r in RULES)}",
        f"ran read-only on {database.dialect}: {final}",
        f"{len(rows)} row(s){' (truncated)' if result.truncated else ''}",
    )
    return Verdict(
        "checked",
        "sqlglot rules + read-only execution",
        evidence,
        answer=_answer(result.columns, rows),
        data=_data(final, result.columns, rows, result.truncated),
    )


def query_line(verdict: CheckVerdict) -> dict[str, Any]:
    """One query's verdict as ``trifecta check sql`` prints it and the MCP tool returns
    it: ``{"id", "status", "errors", "columns", "rows", "row_count", "truncated",
    "sql_executed"}``."""
    data = verdict.data
    return {
        "id": verdict.id,
        "status": verdict.status,
        "errors": list(verdict.errors),
        "columns": data["columns"],
        "rows": data["rows"],
        "row_count": len(data["rows"]),
        "truncated": data["truncated"],
        "sql_executed": data["sql"],
    }


def check_queries(
    database: Database,
    items: Iterable[Any],
    *,
    read: str | None = None,
    max_rows: int = 1000,
    timeout: float = 5.0,
    allow_functions: Iterable[str] = (),
) -> Iterator[CheckVerdict]:
    """Check and run ``{"id", "sql"}`` items in order, yielding one verdict each (with
    the item's ``id``; `query_line` writes it as JSON).

    An item that is not such an object (or an `Exception`, e.g. a line that was not
    JSON) yields a rejected verdict with the reason. `allow_functions` extends the
    dialect's function allowlist.
    """
    allow = tuple(allow_functions)
    for item in items:
        qid = item.get("id") if isinstance(item, dict) else None
        if isinstance(item, Exception):
            verdict = _rejected("input", str(item))
        elif not isinstance(item, dict) or not isinstance(item.get("sql"), str):
            verdict = _rejected("input", 'expected {"id", "sql"}')
        else:
            verdict = run_checked(
                database,
                item["sql"],
                read=read,
                max_rows=max_rows,
                timeout=timeout,
                allow_functions=allow,
            )
        yield CheckVerdict.of(verdict, qid)
