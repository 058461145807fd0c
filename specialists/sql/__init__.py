"""The SQL specialist: questions become one read-only query, checked by sqlglot rules
and executed on a read-only connection. Tier 0 is a rule-based writer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from decimal import Decimal
from functools import partial
from importlib import resources
from typing import Any

from trifecta.approval import Approval, ask
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
from trifecta.specialists.sql._affinity import schema_terms, sql_affinity
from trifecta.specialists.sql._allow import ALLOWED_CASTS, ALLOWED_FUNCTIONS
from trifecta.specialists.sql._check import RULES, CheckedSql, SqlRuleError, check_sql
from trifecta.specialists.sql._db import (
    MAX_CELL_BYTES,
    MAX_RESULT_BYTES,
    Database,
    QueryResult,
    SqlExecutionError,
    connect,
)
from trifecta.specialists.sql._run import check_queries, query_line, run_checked
from trifecta.specialists.sql._schema import Column, ForeignKey, Schema, Table
from trifecta.specialists.sql._writer import Writer
from trifecta.telemetry import tool_span
from trifecta.verdict import Verdict, check_error

__all__ = [
    "ALLOWED_CASTS",
    "ALLOWED_FUNCTIONS",
    "MAX_CELL_BYTES",
    "MAX_RESULT_BYTES",
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
    "Writer",
    "check_queries",
    "check_sql",
    "connect",
    "query_line",
    "run_checked",
    "same_rows",
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
    confirm: bool = True,
    tables: int = 8,
    allow_functions: Iterable[str] = (),
    approve: bool = False,
) -> Specialist:
    """The SQL specialist over one database.

    A query that passes every rule and runs is `checked`; with `confirm`, a later
    tier writes the query again independently and the same result set makes it
    `verified` (execution agreement; one extra generation per subtask).

    Args:
        db: a database URL (``sqlite:///shop.sqlite``) or an open `Database`.
        models: model tiers after the rule-based writer, cheapest first.
        max_rows: the row cap added to every query.
        timeout: seconds per query.
        confirm: seek execution agreement from a later tier.
        tables: schemas with more tables are narrowed to this many (plus the tables
            they reference) before prompting, by lexical match with the question.
        allow_functions: function names allowed on top of the database dialect's
            allowlist of side-effect-free functions (`ALLOWED_FUNCTIONS`).
        approve: pause for a person's approval (LangGraph ``interrupt()``) before
            each query runs; a declined query is `unverifiable`.
    """
    database = db if isinstance(db, Database) else connect(db)
    prompt = (resources.files(__name__) / "prompt.md").read_text("utf-8")
    system = prompt.format(dialect=database.dialect)
    writer = _writer(database)
    tiers: list[Solver] = [FunctionSolver(_tier0(writer), name="rules")]
    context = partial(_schema_context, database, tables)
    tiers += [ModelSolver(m, system, SQL_SCHEMA, _candidate, context=context) for m in models]

    allow = tuple(allow_functions)

    async def verify(job: Job, candidate: Candidate) -> Verdict:
        if approve and not _approved(database, job, candidate):
            return Verdict(
                "unverifiable",
                "not approved",
                (f"a person declined running: {candidate.payload.get('sql', '')}",),
                errors=(check_error("approval", "a person declined running the query"),),
            )
        dialect = {"db.system.name": _DB_SYSTEM.get(database.dialect, database.dialect)}
        with tool_span("sql", job.subtask, tool_type="datastore", attributes=dialect) as current:
            verdict = await asyncio.to_thread(
                _verify, database, candidate, max_rows, timeout, allow
            )
            if current is not None:
                rows = len(verdict.data.get("rows", []))
                current.set_attributes({"trifecta.verdict": verdict.status, "trifecta.rows": rows})
        return verdict

    known = schema_terms(database.schema())

    def writes(clause: str) -> bool:
        return writer().write(clause) is not None

    def affinity(clause: str) -> float:
        return sql_affinity(clause, known, writes)

    return Specialist(
        agree=same_rows if confirm else None,
        name="sql",
        description="Questions answered from the database: counts, sums, averages, "
        f"lists, filters. Tables: {', '.join(database.schema().tables)}.",
        tiers=tiers,
        verify=verify,
        affinity=affinity,
    )


_DB_SYSTEM = {"postgres": "postgresql"}  # sqlglot's dialect → OpenTelemetry's db.system.name


def _approved(database: Database, job: Job, candidate: Candidate) -> bool:
    """Ask a person (LangGraph ``interrupt()``) before the query runs."""
    sql = str(candidate.payload.get("sql", ""))
    question = Approval(
        gate="sql",
        question=f"Run this query on the {database.dialect} database?\n{sql}",
        why=f"subtask {job.subtask}: {job.instruction}",
        subtask=job.subtask,
        specialist=job.specialist,
    )
    return ask(question)


def _schema_context(database: Database, tables: int, job: Job) -> str:
    schema = database.schema()
    return "Schema:\n" + schema.describe(schema.narrow(job.instruction, tables))


def _writer(database: Database) -> Callable[[], Writer]:
    """The database's rule-based writer, built on first use (it reads the stored values
    of the text columns once)."""
    built: list[Writer] = []
    lock = threading.Lock()

    def get() -> Writer:
        with lock:
            if not built:
                built.append(Writer.of(database))
            return built[0]

    return get


def _tier0(writer: Callable[[], Writer]) -> Any:
    def solve(job: Job) -> Candidate:
        sql = writer().write(job.instruction)
        if sql is None:
            raise CannotSolve("the rule-based writer does not cover this question")
        return Candidate(answer="", payload={"sql": sql})

    return solve


def _candidate(data: Any) -> Candidate:
    if not isinstance(data, dict) or not isinstance(data.get("sql"), str):
        raise ModelOutputError("expected an object with a string 'sql'")
    return Candidate(answer="", payload={"sql": data["sql"]})


def _verify(
    database: Database,
    candidate: Candidate,
    max_rows: int,
    timeout: float,
    allow: tuple[str, ...],
) -> Verdict:
    """`run_checked`'s verdict; a rejected query keeps no rows with the result."""
    verdict = run_checked(
        database,
        str(candidate.payload.get("sql", "")),
        max_rows=max_rows,
        timeout=timeout,
        allow_functions=allow,
    )
    return verdict if verdict.accepted else replace(verdict, data={})


def _normal(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return round(float(value), 9)
    return str(value)


def same_rows(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two query results hold the same rows (as multisets; numbers compared
    as floats to 9 decimals, so 4 == 4.0 and Decimal('1.50') == 1.5)."""
    rows = [
        sorted(map(repr, (tuple(map(_normal, r)) for r in d.get("rows", []))))
        for d in (first, second)
    ]
    return rows[0] == rows[1]
