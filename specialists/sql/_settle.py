"""What the rule-based writer checks on the data before it answers: a question whose
answer the data leaves open is declined, not guessed.

- "The highest", "the youngest", "the most common": when several rows share the extreme,
  the question (asked of one thing) has no one answer; a query that kept every tied row
  would answer a question nobody asked, and a ``LIMIT 1`` would pick one at random.
- "The number of concerts in each stadium": a stadium with no concert is counted 0 under
  one reading and left out under the other; when there is one, neither is guessed.
- "Not in Leeds": a row whose city is unknown is in the answer under one reading and
  out of it under the other; when that changes the rows, neither is guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from trifecta.specialists.sql._lexicon import Lexicon
from trifecta.specialists.sql._query import Declined, Query, negates
from trifecta.specialists.sql._render import gaps, render

__all__ = ["Probe", "settle"]

Probe = Callable[[str], Sequence[Sequence[Any]] | None]
"""Runs a read-only query (SQLite spelling) on the data: every row, or None when it
could not read them all."""


def settle(query: Query, sql: str, lex: Lexicon, probe: Probe) -> None:
    """Raise `Declined` when the data leaves the answer of `query` (rendered as `sql`)
    open: an extreme several rows share, or a negation that unknown values change."""
    if query.limit == 1 or query.mode:
        rows = probe(sql)
        if rows is None or len(rows) > 1:
            raise Declined("several rows share the extreme: which one is meant?")
    missing = gaps(query, lex)
    if missing is not None:
        rows = probe(missing)
        if rows is None or rows[0][0] != 0:
            raise Declined("rows no counted row refers to: a count of 0, or left out?")
    if negates(query):
        kept, dropped = probe(sql), probe(render(query, lex, unknown_is_other=False))
        if kept is None or dropped is None or _bag(kept) != _bag(dropped):
            raise Declined("rows with an unknown value: are they 'not' the value or not?")


def _bag(rows: Sequence[Sequence[Any]]) -> list[str]:
    return sorted(repr(tuple(r)) for r in rows)
