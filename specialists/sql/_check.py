"""The SQL checker: a tuple of small rules run in order (sqlglot's optimizer style).

Each rule takes the state so far and returns it, or raises `SqlRuleError` with the
rule name, a message and a position a repair prompt can quote:
``parse → single_statement → read_only → variables → functions → resolve → limit →
transpile``; the result is written in the target dialect (`CheckedSql.final_sql`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from trifecta.specialists.sql._allow import ALLOWED_CASTS, allowed_functions, function_name
from trifecta.specialists.sql._resolve import resolve
from trifecta.specialists.sql._schema import Schema
from trifecta.specialists.sql._state import CheckedSql, SqlRuleError, render

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_SQL_CHARS",
    "RULES",
    "CheckedSql",
    "SqlRuleError",
    "check_sql",
]

MAX_SQL_CHARS = 100_000
"""Longest query text checked."""
MAX_NODES = 10_000
"""Most syntax-tree nodes in a checked query (the checker's own time grows with them)."""
MAX_DEPTH = 200
"""Deepest nesting of a checked query (a chain of 200 ANDs is 200 deep)."""

_WRITES: tuple[type[exp.Expr], ...] = (
    exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter,
    exp.Command, exp.Pragma, exp.Attach, exp.Detach, exp.Copy, exp.Into, exp.Lock,
    exp.Transaction, exp.Commit, exp.Rollback, exp.Set, exp.Use, exp.TruncateTable,
)  # fmt: skip


def parse(state: CheckedSql) -> CheckedSql:
    """Parse in the query's dialect, within the size caps."""
    if len(state.sql) > MAX_SQL_CHARS:
        raise SqlRuleError(
            "parse", f"query of {len(state.sql):,} characters exceeds the cap of {MAX_SQL_CHARS:,}"
        )
    try:
        trees = sqlglot.parse(state.sql, read=state.read)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        message = first.get("description") or str(exc)
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        raise SqlRuleError("parse", f"{message}{where}", first.get("col")) from None
    except SqlglotError as exc:
        raise SqlRuleError("parse", str(exc)) from None
    except RecursionError:
        raise SqlRuleError("parse", "query nested too deeply to check") from None
    kept = tuple(t for t in trees if t is not None)
    for tree in kept:
        _within_size(tree)
    return replace(state, trees=kept)


def _within_size(tree: exp.Expr) -> None:
    stack = [(tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise SqlRuleError("parse", f"query exceeds the cap of {MAX_NODES:,} syntax nodes")
        if depth > MAX_DEPTH:
            raise SqlRuleError("parse", f"query nests deeper than the cap of {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in node.iter_expressions())


def single_statement(state: CheckedSql) -> CheckedSql:
    """Exactly one statement."""
    if len(state.trees) != 1:
        raise SqlRuleError("single_statement", f"expected one statement, found {len(state.trees)}")
    return state


def read_only(state: CheckedSql) -> CheckedSql:
    """Only SELECT / WITH / set operations; no writes or locks."""
    tree = state.tree
    if not isinstance(tree, exp.Query):
        raise SqlRuleError("read_only", f"only SELECT queries are allowed, not {tree.key.upper()}")
    for node in tree.walk():
        if isinstance(node, _WRITES):
            raise SqlRuleError(
                "read_only", f"{node.key.upper()} is not allowed in a read-only query"
            )
        if node.args.get("locks"):
            raise SqlRuleError("read_only", "locking clauses (FOR UPDATE/SHARE) are not allowed")
    return state


def variables(state: CheckedSql) -> CheckedSql:
    """No user variables (``@v``, ``@v := id`` outlives the query in the session), system
    variables (``@@datadir``) or bind parameters (nothing is bound)."""
    for node in state.tree.walk():
        if isinstance(node, exp.SessionParameter):
            raise SqlRuleError("variables", f"system variable {node.sql()} is not allowed")
        if isinstance(node, exp.Parameter | exp.Placeholder):
            text = node.sql(dialect=state.read)
            kind = "user variable" if text.startswith("@") else "parameter"
            raise SqlRuleError("variables", f"{kind} {text} is not allowed")
    return state


def functions(state: CheckedSql) -> CheckedSql:
    """Every function called is on the target dialect's allowlist of side-effect-free
    functions (plus `allow_functions`), is not schema-qualified, and every cast is to a
    plain data type."""
    allowed = allowed_functions(state.dialect, state.allow_functions)
    for node in state.tree.walk():
        if not isinstance(node, exp.Func) or isinstance(node, exp.Binary):
            continue  # operators (AND, LIKE, ~, ->) are not calls
        if isinstance(node, exp.Cast):
            _check_cast(node)
            continue
        name = function_name(node)
        parent = node.parent
        if isinstance(parent, exp.Dot) and parent.expression is node:
            raise SqlRuleError(
                "functions",
                f"schema-qualified function {parent.this.sql()}.{name}() is not allowed",
            )
        if name not in allowed:
            raise SqlRuleError(
                "functions",
                f"function {name}() is not in the {state.dialect} allowlist of side-effect-free "
                "functions (extend it with allow_functions)",
            )
    return state


def _check_cast(node: exp.Cast) -> None:
    target = node.args.get("to")
    if not (isinstance(target, exp.DataType) and target.this in ALLOWED_CASTS):
        shown = target.sql() if isinstance(target, exp.Expr) else "?"
        raise SqlRuleError("functions", f"cast to {shown} is not allowed")


def limit(state: CheckedSql) -> CheckedSql:
    """Cap the rows of every top-level shape: a limit is added when absent and a larger
    one is lowered. Parentheses around the whole query are dropped; any other shape is
    wrapped in ``SELECT * FROM (…)``. The limit is one over the row cap so the executor
    can tell a complete result from a truncated one."""
    tree = state.tree
    while isinstance(tree, exp.Subquery) and not any(
        value for key, value in tree.args.items() if key != "this"
    ):
        tree = tree.this
    if not isinstance(tree, exp.Select | exp.SetOperation):
        tree = exp.select("*").from_(
            exp.Subquery(this=tree.copy(), alias=exp.TableAlias(this=exp.to_identifier("capped")))
        )
    cap = state.max_rows + 1
    current = tree.args.get("limit")
    value = current.expression if isinstance(current, exp.Limit) else None
    if not (isinstance(value, exp.Literal) and value.is_int and int(value.this) <= cap):
        tree = tree.limit(cap, copy=True)
    return replace(state, trees=(tree,))


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
    parse, single_statement, read_only, variables, functions, resolve, limit, transpile,
)  # fmt: skip


def check_sql(
    sql: str,
    schema: Schema,
    *,
    dialect: str = "sqlite",
    read: str | None = None,
    max_rows: int = 1000,
    allow_functions: Iterable[str] = (),
) -> CheckedSql:
    """Run every rule; returns the checked state or raises the first `SqlRuleError`.

    Args:
        sql: the query.
        schema: the database's schema.
        dialect: the database's dialect (the output is written in it).
        read: the dialect the query is written in (default: `dialect`).
        max_rows: the row limit added or enforced.
        allow_functions: function names allowed on top of the dialect's allowlist
            (`ALLOWED_FUNCTIONS`), e.g. ``{"similarity"}`` for pg_trgm.
    """
    extra = frozenset(name.lower() for name in allow_functions)
    state = CheckedSql(sql, read or dialect, dialect, schema, max_rows, allow_functions=extra)
    step = "parse"
    try:
        for rule in RULES:
            step = rule.__name__
            state = rule(state)
        step = "transpile"
        return replace(state, rendered=render(state.tree, state.dialect))
    except RecursionError:  # sqlglot recurses; a tree within MAX_DEPTH may still be too deep
        raise SqlRuleError(step, "query nested too deeply to check") from None
