"""The SQL checker: a tuple of small rules run in order (sqlglot's optimizer style).

Each rule takes the state so far and returns it, or raises `SqlRuleError` with the
rule name, a message and a position a repair prompt can quote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify

__all__ = ["RULES", "CheckedSql", "SqlRuleError", "check_sql"]

_UNSAFE_FUNCTIONS = frozenset({
    "pg_sleep", "sleep", "benchmark", "load_extension", "pg_read_file", "pg_ls_dir",
    "lo_import", "lo_export", "dblink", "pg_terminate_backend", "set_config", "readfile",
    "writefile", "edit",
})  # fmt: skip
_WRITES: tuple[type[exp.Expr], ...] = (
    exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter,
    exp.Command, exp.Pragma, exp.Attach, exp.Detach, exp.Copy, exp.Into, exp.Lock,
    exp.Transaction, exp.Commit, exp.Rollback, exp.Set, exp.Use, exp.TruncateTable,
)  # fmt: skip


class SqlRuleError(Exception):
    """A rule failed."""

    def __init__(self, rule: str, message: str, position: int | None = None) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.message = message
        self.position = position


@dataclass(frozen=True)
class CheckedSql:
    """State threaded through the rules; `tree` is set after `parse`."""

    sql: str
    dialect: str
    schema: Mapping[str, Mapping[str, str]]
    max_rows: int
    trees: tuple[exp.Expr, ...] = ()

    @property
    def tree(self) -> exp.Expr:
        """The single statement (after `single_statement`)."""
        return self.trees[0]

    @property
    def final_sql(self) -> str:
        """The statement to execute, in the target dialect."""
        return self.tree.sql(dialect=self.dialect)


def parse(state: CheckedSql) -> CheckedSql:
    """Parse in the target dialect."""
    try:
        trees = sqlglot.parse(state.sql, read=state.dialect)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        message = first.get("description") or str(exc)
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        raise SqlRuleError("parse", f"{message}{where}", first.get("col")) from None
    except SqlglotError as exc:
        raise SqlRuleError("parse", str(exc)) from None
    return replace(state, trees=tuple(t for t in trees if t is not None))


def single_statement(state: CheckedSql) -> CheckedSql:
    """Exactly one statement."""
    if len(state.trees) != 1:
        raise SqlRuleError("single_statement", f"expected one statement, found {len(state.trees)}")
    return state


def read_only(state: CheckedSql) -> CheckedSql:
    """Only SELECT / WITH / set operations, no writes or side-effect functions."""
    tree = state.tree
    if not isinstance(tree, exp.Query):
        raise SqlRuleError("read_only", f"only SELECT queries are allowed, not {tree.key.upper()}")
    for node in tree.walk():
        if isinstance(node, _WRITES):
            raise SqlRuleError(
                "read_only", f"{node.key.upper()} is not allowed in a read-only query"
            )
        if isinstance(node, exp.Func) and _function_name(node) in _UNSAFE_FUNCTIONS:
            raise SqlRuleError("read_only", f"function {_function_name(node)}() is not allowed")
    return state


def _function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def resolve(state: CheckedSql) -> CheckedSql:
    """Every table and column resolves against the schema (sqlglot `qualify`)."""
    tree = state.tree.copy()
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    tables = {t.lower() for t in state.schema}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if name and name not in tables and name not in ctes:
            raise SqlRuleError(
                "resolve",
                f"unknown table {table.name!r}; tables: {', '.join(sorted(state.schema))}",
            )
    try:
        qualify(
            tree, schema=dict(state.schema), dialect=state.dialect, validate_qualify_columns=True
        )
    except OptimizeError as exc:
        raise SqlRuleError("resolve", str(exc)) from None
    return state


def limit(state: CheckedSql) -> CheckedSql:
    """Add a row limit when absent; cap one that is larger."""
    tree = state.tree
    current = tree.args.get("limit")
    value = current.expression if isinstance(current, exp.Limit) else None
    if isinstance(value, exp.Literal) and value.is_int and int(value.this) <= state.max_rows:
        return state
    if isinstance(tree, exp.Select | exp.SetOperation):
        return replace(state, trees=(tree.limit(state.max_rows, copy=True),))
    return state


RULES: tuple[Callable[[CheckedSql], CheckedSql], ...] = (
    parse,
    single_statement,
    read_only,
    resolve,
    limit,
)


def check_sql(
    sql: str,
    schema: Mapping[str, Mapping[str, str]],
    *,
    dialect: str = "sqlite",
    max_rows: int = 1000,
) -> CheckedSql:
    """Run every rule; returns the checked state or raises the first `SqlRuleError`."""
    state = CheckedSql(sql, dialect, schema, max_rows)
    for rule in RULES:
        state = rule(state)
    return state
