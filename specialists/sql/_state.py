"""The state the checker's rules thread, their error, and how a checked tree is written
out in the database's dialect."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.generators.mysql import MySQLGenerator

from trifecta.errors import TrifectaError
from trifecta.specialists.sql._schema import Schema

__all__ = ["CheckedSql", "SqlRuleError", "render"]


class SqlRuleError(TrifectaError):
    """A rule failed."""

    def __init__(self, rule: str, message: str, position: int | None = None) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.message = message
        self.position = position


@dataclass(frozen=True)
class CheckedSql:
    """State threaded through the rules; `trees` is set by `parse`.

    `read` is the dialect the query is written in, `dialect` the database's;
    `allow_functions` extends the dialect's function allowlist; `rendered` is the final
    SQL once every rule has passed.
    """

    sql: str
    read: str
    dialect: str
    schema: Schema
    max_rows: int
    trees: tuple[exp.Expr, ...] = ()
    allow_functions: frozenset[str] = frozenset()
    rendered: str = ""

    @property
    def tree(self) -> exp.Expr:
        """The single statement (after `single_statement`)."""
        return self.trees[0]

    @property
    def final_sql(self) -> str:
        """The statement to execute, in the target dialect."""
        return self.rendered or render(self.tree, self.dialect)


_MYSQL = Dialect.get_or_raise("mysql")


class _MySQLGenerator(MySQLGenerator):
    """MySQL output that MariaDB also runs: ``x REGEXP y`` rather than ``REGEXP_LIKE``,
    which MariaDB lacks (a call with match flags keeps the function)."""

    def regexplike_sql(self, expression: exp.RegexpLike) -> str:
        if expression.args.get("flag"):
            return self.function_fallback_sql(expression)
        return self.binary(expression, "REGEXP")


def render(tree: exp.Expr, dialect: str) -> str:
    """`tree` as SQL for `dialect`, without comments (MySQL runs ``/*! … */`` text)."""
    if dialect == "mysql":
        return _MySQLGenerator(dialect=_MYSQL, comments=False).generate(tree)
    return tree.sql(dialect=dialect, comments=False)
