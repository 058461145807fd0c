"""The SQL checker: a tuple of small rules run in order (sqlglot's optimizer style).

Each rule takes the state so far and returns it, or raises `SqlRuleError` with the
rule name, a message and a position a repair prompt can quote:
``parse → single_statement → read_only → resolve → limit → transpile``; the result is
written in the target dialect (`CheckedSql.final_sql`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify

from trifecta.specialists.sql._schema import Schema

__all__ = ["RULES", "UNSAFE_FUNCTIONS", "CheckedSql", "SqlRuleError", "check_sql"]

UNSAFE_FUNCTIONS = frozenset({
    "pg_sleep", "pg_sleep_for", "pg_sleep_until", "sleep", "benchmark", "load_extension",
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "lo_import", "lo_export",
    "lo_unlink", "dblink", "dblink_exec", "pg_terminate_backend", "pg_cancel_backend", "set_config",
    "nextval", "setval", "pg_advisory_lock", "pg_advisory_xact_lock", "pg_notify", "txid_current",
    "load_file", "sys_exec", "sys_eval", "readfile", "writefile", "edit", "fts3_tokenizer",
    "get_lock", "release_lock", "master_pos_wait", "query_to_xml", "pg_reload_conf",
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
    """State threaded through the rules; `trees` is set by `parse`.

    `read` is the dialect the query is written in, `dialect` the database's.
    """

    sql: str
    read: str
    dialect: str
    schema: Schema
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
    """Parse in the query's dialect."""
    try:
        trees = sqlglot.parse(state.sql, read=state.read)
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
    """Only SELECT / WITH / set operations; no writes, locks or side-effect functions."""
    tree = state.tree
    if not isinstance(tree, exp.Query):
        raise SqlRuleError("read_only", f"only SELECT queries are allowed, not {tree.key.upper()}")
    for node in tree.walk():
        if isinstance(node, _WRITES):
            raise SqlRuleError(
                "read_only", f"{node.key.upper()} is not allowed in a read-only query"
            )
        if isinstance(node, exp.Func) and _function_name(node) in UNSAFE_FUNCTIONS:
            raise SqlRuleError("read_only", f"function {_function_name(node)}() is not allowed")
        if node.args.get("locks"):
            raise SqlRuleError("read_only", "locking clauses (FOR UPDATE/SHARE) are not allowed")
    return state


def _function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def resolve(state: CheckedSql) -> CheckedSql:
    """Every table and column resolves against the schema; names are rewritten to the
    stored spelling and quoted, so case rules of the target database cannot bite."""
    tree = state.tree.copy()
    if state.read == "sqlite":
        _lower_aliases(tree)
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    columns = {c.name.lower(): c.name for t in state.schema.tables.values() for c in t.columns}
    for table in tree.find_all(exp.Table):
        if not table.name or table.name.lower() in ctes:
            continue
        stored = state.schema.canonical(table.name)
        if stored is None:
            known = ", ".join(sorted(state.schema.tables))
            raise SqlRuleError("resolve", f"unknown table {table.name!r}; tables: {known}")
        table.set("this", exp.to_identifier(stored, quoted=True))
    aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)}
    for column in list(tree.find_all(exp.Column)):
        stored_column = columns.get(column.name.lower())
        if stored_column is not None:
            column.set("this", exp.to_identifier(stored_column, quoted=True))
        elif _sqlite_string(column, state.read, aliases):
            column.replace(exp.Literal.string(column.name))
    try:
        qualify(
            tree.copy(),
            schema=dict(state.schema.mapping()),
            dialect=state.dialect,
            validate_qualify_columns=True,
            quote_identifiers=False,
        )
    except OptimizeError as exc:
        raise SqlRuleError("resolve", str(exc)) from None
    return replace(state, trees=(tree,))


def _lower_aliases(tree: exp.Expr) -> None:
    """SQLite matches table aliases case-insensitively (`AS t2` ... `T2.id`); MySQL does
    not, so unquoted aliases and the qualifiers that use them are lower-cased."""
    for alias in tree.find_all(exp.TableAlias):
        if isinstance(alias.this, exp.Identifier) and not alias.this.args.get("quoted"):
            alias.set("this", exp.to_identifier(alias.this.name.lower()))
    for column in tree.find_all(exp.Column):
        qualifier = column.args.get("table")
        if isinstance(qualifier, exp.Identifier) and not qualifier.args.get("quoted"):
            column.set("table", exp.to_identifier(qualifier.name.lower()))


def _sqlite_string(column: exp.Column, read: str, aliases: set[str]) -> bool:
    """SQLite reads a double-quoted name that matches no column as a string literal
    ("JetBlue Airways"); keep that meaning when the query is SQLite's."""
    identifier = column.this
    return (
        read == "sqlite"
        and not column.table
        and isinstance(identifier, exp.Identifier)
        and bool(identifier.args.get("quoted"))
        and column.name.lower() not in aliases
    )


def limit(state: CheckedSql) -> CheckedSql:
    """Add a row limit when absent and cap one that is larger. The limit is one over the
    row cap so the executor can tell a complete result from a truncated one."""
    tree = state.tree
    cap = state.max_rows + 1
    current = tree.args.get("limit")
    value = current.expression if isinstance(current, exp.Limit) else None
    if isinstance(value, exp.Literal) and value.is_int and int(value.this) <= cap:
        return state
    if isinstance(tree, exp.Select | exp.SetOperation):
        return replace(state, trees=(tree.limit(cap, copy=True),))
    return state


def transpile(state: CheckedSql) -> CheckedSql:
    """Adapt SQLite semantics PostgreSQL lacks. A grouped SQLite query may select a
    column that is neither grouped nor aggregated (SQLite takes it from some row of the
    group); PostgreSQL refuses it, so it becomes MIN(column), the same value whenever the
    column is determined by the group (the usual case: a name grouped by its id).
    SQLite's LIKE ignores case, so it becomes ILIKE."""
    if state.read != "sqlite" or state.dialect != "postgres":
        return state
    tree = state.tree.copy()
    for select in tree.find_all(exp.Select):
        group = select.args.get("group")
        if group:
            _wrap_bare_columns(select, {k.sql() for k in group.expressions})
    for like in list(tree.find_all(exp.Like)):  # SQLite's LIKE ignores ASCII case
        like.replace(exp.ILike(this=like.this, expression=like.expression))
    return replace(state, trees=(tree,))


def _wrap_bare_columns(select: exp.Select, keys: set[str]) -> None:
    aliases = {p.alias.lower() for p in select.expressions if isinstance(p, exp.Alias)}

    def bare(node: exp.Expr) -> bool:
        columns = list(node.find_all(exp.Column))
        return (
            bool(columns)
            and node.sql() not in keys
            and node.find(exp.AggFunc) is None
            and not any(c.name.lower() in aliases and not c.table for c in columns)
            and all(c.sql() not in keys for c in columns)
        )

    projections = []
    for projection in select.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if bare(inner):
            name = projection.alias_or_name
            projection = exp.alias_(exp.Min(this=inner.copy()), name, quoted=True)
        projections.append(projection)
    select.set("expressions", projections)
    order = select.args.get("order")
    for ordered in order.expressions if order else []:
        if bare(ordered.this):
            ordered.set("this", exp.Min(this=ordered.this.copy()))


RULES: tuple[Callable[[CheckedSql], CheckedSql], ...] = (
    parse, single_statement, read_only, resolve, limit, transpile,
)  # fmt: skip


def check_sql(
    sql: str,
    schema: Schema,
    *,
    dialect: str = "sqlite",
    read: str | None = None,
    max_rows: int = 1000,
) -> CheckedSql:
    """Run every rule; returns the checked state or raises the first `SqlRuleError`.

    Args:
        sql: the query.
        schema: the database's schema.
        dialect: the database's dialect (the output is written in it).
        read: the dialect the query is written in (default: `dialect`).
        max_rows: the row limit added or enforced.
    """
    state = CheckedSql(sql, read or dialect, dialect, schema, max_rows)
    for rule in RULES:
        state = rule(state)
    return state
