"""The `resolve` rule: every table and column names something in the connected schema.

A qualifier (``schema.table``, ``db.table``, ``main.table``) must name the namespace
that holds the table; anything else (another schema or database, ``information_schema``,
``pg_catalog``, ``mysql``, a catalog-qualified name) is refused. On PostgreSQL every table
is then written schema-qualified, so the search path (and ``pg_catalog``, searched before
it) cannot send a name elsewhere.
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify

from trifecta.specialists.sql._schema import Schema
from trifecta.specialists.sql._state import CheckedSql, SqlRuleError

__all__ = ["resolve"]


def resolve(state: CheckedSql) -> CheckedSql:
    """Every table and column resolves against the schema, qualifiers included; names are
    rewritten to the stored spelling and quoted, so case rules of the target database
    cannot bite."""
    tree = state.tree.copy()
    if state.read == "sqlite":
        _lower_aliases(tree)
    owners: list[tuple[exp.Table, str]] = []
    for table in list(tree.find_all(exp.Table)):
        if not table.name:
            _refuse_qualifier(table, "a table function")
        elif not _cte_reference(table):
            owners.append((table, _resolve_table(table, state.schema)))
    _resolve_columns(tree, state)
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
    if state.dialect == "postgres":
        for table, namespace in owners:
            if namespace:
                table.set("db", exp.to_identifier(namespace, quoted=True))
    return replace(state, trees=(tree,))


def _qualifier(node: exp.Expr) -> str:
    parts = [node.args.get(k) for k in ("catalog", "db")]
    return ".".join(p.name for p in parts if isinstance(p, exp.Identifier))


def _refuse_qualifier(table: exp.Table, what: str) -> None:
    if _qualifier(table):
        raise SqlRuleError(
            "resolve", f"{what} qualified by {_qualifier(table)!r} is outside the connected schema"
        )


def _resolve_table(table: exp.Table, schema: Schema) -> str:
    """Rewrite `table` to its stored, unqualified name; returns its namespace."""
    stored = schema.canonical(table.name)
    qualifier = _qualifier(table)
    namespace = schema.tables[stored].namespace if stored is not None else ""
    if qualifier and (stored is None or qualifier.lower() != namespace.lower()):
        where = f" ({namespace})" if namespace else ""
        raise SqlRuleError(
            "resolve",
            f"table {qualifier}.{table.name} is outside the connected schema{where}; "
            f"only its own tables may be read",
        )
    if stored is None:
        known = ", ".join(sorted(schema.tables))
        raise SqlRuleError("resolve", f"unknown table {table.name!r}; tables: {known}")
    table.set("this", exp.to_identifier(stored, quoted=True))
    table.set("db", None)
    table.set("catalog", None)
    return namespace


def _cte_reference(table: exp.Table) -> bool:
    """Whether an unqualified `table` names a CTE in scope: one defined by an enclosing
    query, or an earlier one of the same WITH (itself too, in a recursive WITH). A name
    any database would resolve to a real table is never taken for a CTE."""
    if _qualifier(table):
        return False
    name = table.name.lower()
    child: exp.Expr = table
    parent = table.parent
    while parent is not None:
        if isinstance(parent, exp.With):
            ctes = parent.expressions
            index = next(i for i, cte in enumerate(ctes) if cte is child)
            position = index + (1 if parent.args.get("recursive") else 0)
            if name in {c.alias_or_name.lower() for c in ctes[:position]}:
                return True
        elif isinstance(parent, exp.Query) and not isinstance(child, exp.With):
            with_ = parent.args.get("with_")
            if isinstance(with_, exp.With) and name in {
                c.alias_or_name.lower() for c in with_.expressions
            }:
                return True
        child, parent = parent, parent.parent
    return False


def _resolve_columns(tree: exp.Expr, state: CheckedSql) -> None:
    schema = state.schema
    columns = {c.name.lower(): c.name for t in schema.tables.values() for c in t.columns}
    aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)}
    for column in list(tree.find_all(exp.Column)):
        _check_column_qualifier(column, schema)
        stored_column = columns.get(column.name.lower())
        if stored_column is not None:
            column.set("this", exp.to_identifier(stored_column, quoted=True))
        elif _sqlite_string(column, state.read, aliases):
            column.replace(exp.Literal.string(column.name))


def _check_column_qualifier(column: exp.Column, schema: Schema) -> None:
    """``schema.table.column`` must name the table's own namespace; it is then dropped."""
    qualifier = _qualifier(column)
    if not qualifier:
        return
    stored = schema.canonical(column.table)
    namespace = schema.tables[stored].namespace if stored is not None else ""
    if stored is None or qualifier.lower() != namespace.lower():
        raise SqlRuleError("resolve", f"column {column.sql()} is outside the connected schema")
    column.set("db", None)
    column.set("catalog", None)


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
