"""The SQL specialist: questions become one read-only query, checked by sqlglot rules
and executed on a read-only connection. Tier 0 is a rule-based writer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from importlib import resources
from typing import Any

from trifecta.models import ChatModel, ModelOutputError, OutputSchema
from trifecta.specialists.base import (
    Candidate,
    CannotSolve,
    FunctionSolver,
    Job,
    ModelSolver,
    Solver,
    Specialist,
)
from trifecta.specialists.sql._check import RULES, CheckedSql, SqlRuleError, check_sql
from trifecta.specialists.sql._db import Database, QueryResult, SqlExecutionError, connect
from trifecta.specialists.sql._schema import Column, ForeignKey, Schema, Table
from trifecta.specialists.sql._writer import SQL_WORDS, find_table, write_sql
from trifecta.verdict import Verdict, check_error

__all__ = [
    "RULES",
    "SQL_SCHEMA",
    "CheckedSql",
    "Column",
    "Database",
    "ForeignKey",
    "QueryResult",
    "Schema",
    "SqlExecutionError",
    "SqlRuleError",
    "Table",
    "check_sql",
    "connect",
    "sql_specialist",
]

SQL_SCHEMA = OutputSchema(
    "sql_query",
    {"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"]},
    "One read-only SQL query.",
)


def sql_specialist(
    db: str | Database,
    models: Sequence[ChatModel] = (),
    *,
    max_rows: int = 1000,
    timeout: float = 5.0,
) -> Specialist:
    """The SQL specialist over one database.

    Args:
        db: a database URL (``sqlite:///shop.sqlite``) or an open `Database`.
        models: model tiers after the rule-based writer, cheapest first.
        max_rows: the row cap added to every query.
        timeout: seconds per query.
    """
    database = db if isinstance(db, Database) else connect(db)
    schema_text = database.schema().describe()
    prompt = (resources.files(__name__) / "prompt.md").read_text("utf-8")
    system = prompt.format(dialect=database.dialect, schema=schema_text)
    tiers: list[Solver] = [FunctionSolver(_tier0(database), name="rules")]
    tiers += [ModelSolver(m, system, SQL_SCHEMA, _candidate) for m in models]

    async def verify(job: Job, candidate: Candidate) -> Verdict:
        return await asyncio.to_thread(_verify, database, candidate, max_rows, timeout)

    def affinity(clause: str) -> float:
        score = 0.5 if SQL_WORDS.search(clause) else 0.0
        return score + (0.5 if find_table(clause, database.schema().mapping()) else 0.0)

    return Specialist(
        name="sql",
        description="Questions answered from the database: counts, sums, averages, "
        f"lists, filters. Tables: {', '.join(database.schema().tables)}.",
        tiers=tiers,
        verify=verify,
        affinity=affinity,
    )


def _tier0(database: Database) -> Any:
    def solve(job: Job) -> Candidate:
        sql = write_sql(job.instruction, database.schema().mapping())
        if sql is None:
            raise CannotSolve("the rule-based writer does not cover this question")
        return Candidate(answer="", payload={"sql": sql})

    return solve


def _candidate(data: Any) -> Candidate:
    if not isinstance(data, dict) or not isinstance(data.get("sql"), str):
        raise ModelOutputError("expected an object with a string 'sql'")
    return Candidate(answer="", payload={"sql": data["sql"]})


def _verify(database: Database, candidate: Candidate, max_rows: int, timeout: float) -> Verdict:
    sql = str(candidate.payload.get("sql", ""))
    try:
        checked = check_sql(sql, database.schema(), dialect=database.dialect, max_rows=max_rows)
        result = database.execute(checked.final_sql, max_rows=max_rows, timeout=timeout)
    except SqlRuleError as exc:
        return Verdict(
            "rejected",
            f"sqlglot: {exc.rule}",
            errors=(check_error(exc.rule, exc.message, exc.position),),
        )
    except SqlExecutionError as exc:
        return Verdict("rejected", "execution", errors=(check_error("execute", str(exc)),))
    evidence = (
        f"query passed {len(RULES)} rules: {', '.join(r.__name__ for r in RULES)}",
        f"ran read-only on {database.dialect}: {checked.final_sql}",
        f"{len(result.rows)} row(s){' (truncated)' if result.truncated else ''}",
    )
    data = {
        "sql": checked.final_sql,
        "columns": result.columns,
        "rows": [list(r) for r in result.rows],
    }
    return Verdict(
        "checked",
        "sqlglot rules + read-only execution",
        evidence,
        answer=_answer(result),
        data=data,
    )


def _answer(result: QueryResult) -> str:
    if not result.rows:
        return "no rows"
    if len(result.rows) == 1 and len(result.columns) == 1:
        value = result.rows[0][0]
        return "no value (NULL)" if value is None else str(value)
    shown = "; ".join(", ".join(map(str, row)) for row in result.rows[:10])
    more = f" … ({len(result.rows)} rows)" if len(result.rows) > 10 else ""
    return f"{', '.join(result.columns)}: {shown}{more}"
