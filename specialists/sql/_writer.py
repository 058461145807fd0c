"""Tier 0: a rule-based SQL writer that links the words of a question to the schema.

The question is read into items (`_items.read`): tables, columns, stored values, numbers
and the writer's phrases. Rules then take the items they explain — filters (a stored
value, a comparison with a number), an ordering, a superlative, aggregates, a count,
grouping — and what is left names the selected columns and the table. The shapes:
count with filters, average/sum/min/max of a column with filters, the row with the
highest or lowest value, a listing with filters and ordering, a count per group, the
most common value, each over one table or one foreign-key hop.

Precision first: a word nothing explains, an item no rule takes, a column that is in no
table reachable in one hop, or two readings of one value make the writer decline
(return None); a wrong query that runs is worse than an honest "cannot".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlglot

from trifecta.specialists.sql._db import Database, SqlExecutionError
from trifecta.specialists.sql._filters import filters
from trifecta.specialists.sql._items import Item, just_before, next_of, prev_of, read
from trifecta.specialists.sql._lexicon import Lexicon, lexicon, stem
from trifecta.specialists.sql._query import Declined, Query
from trifecta.specialists.sql._render import render
from trifecta.specialists.sql._schema import Schema
from trifecta.specialists.sql._settle import Probe, settle

__all__ = ["Writer"]

_MAX_QUESTION = 500
_PROBE_ROWS = 1000
_SENTENCE_END = re.compile(r"(?<=[?!;])\s+|(?<=[a-z0-9)'\"]\.)\s+(?=[A-Z])|\n+")
_ORDER_SENTENCE = re.compile(r"^(?:sort|order)(?:ed)?\s+(?:\w+\s+)?by\b[^.?!;]*[.?!]?$", re.I)
_YEAR = re.compile(r"1[89]\d\d|2[01]\d\d")
_YEAR_WORDS = frozenset({"in", "on", "during"})
_ROW_MARKERS = frozenset({"with", "has", "have", "whose", "of", "by", "for"})


class Writer:
    """Writes SQL for the questions one database's schema and values explain."""

    def __init__(
        self,
        schema: Schema,
        values: Callable[[str, str], Iterable[str]] | None = None,
        dialect: str = "sqlite",
        probe: Probe | None = None,
    ) -> None:
        self.lexicon: Lexicon = lexicon(schema, values)
        self.dialect = dialect
        self.probe: Probe = probe or _no_data
        """Runs the writer's own checks on the data (ties, unknown values); without
        data, every question those checks guard is declined."""

    @classmethod
    def of(cls, database: Database) -> Writer:
        """The writer of a connected database: its schema, stored values, dialect, and
        its rows for the checks."""

        def probe(sql: str) -> Sequence[Sequence[Any]] | None:
            try:
                result = database.execute(_spelled(sql, database.dialect), max_rows=_PROBE_ROWS)
            except SqlExecutionError:
                return None
            return None if result.truncated else result.rows

        return cls(database.schema(), database.stored_values, database.dialect, probe)

    def write(self, question: str) -> str | None:
        """SQL for `question` in the writer's dialect, or None when the rules do not
        explain all of it."""
        text = _one_question(question)
        if text is None:
            return None
        try:
            query = _interpret(read(text, self.lexicon), self.lexicon)
            sql = render(query, self.lexicon)
            settle(query, sql, self.lexicon, self.probe)
        except Declined:
            return None
        return _spelled(sql, self.dialect)


def _no_data(sql: str) -> Sequence[Sequence[Any]] | None:
    """The probe of a writer that has no database: nothing can be checked."""
    return None


def _spelled(sql: str, dialect: str) -> str:
    """The writer's SQLite spelling of `sql` in `dialect`."""
    return sql if dialect == "sqlite" else sqlglot.transpile(sql, read="sqlite", write=dialect)[0]


def _one_question(question: str) -> str | None:
    """The question as one sentence: sentences after the first may only order it
    ("… Sort by amount descending."); anything else is a second question."""
    if len(question) > _MAX_QUESTION:
        return None
    sentences = [s.strip() for s in _SENTENCE_END.split(question.strip()) if s.strip()]
    if not sentences or not all(_ORDER_SENTENCE.match(s) for s in sentences[1:]):
        return None
    return " ".join(sentences)


def _interpret(items: list[Item], lex: Lexicon) -> Query:
    query = Query()
    _relations(items, lex)
    _events(items)
    body = [i for i in items if i.kind not in {"filler", "rel", "event"}]
    filters(items, body, query)
    _orderings(items, body, query)
    _superlatives(items, body, query)
    _aggregates(body, query)
    _counts(items, body, query, lex)
    _groups(items, body, query)
    _rest(body, query)
    _owned_listing(body, query, lex)
    _listed_order(body, query)
    query.group_counts()
    left = [i for i in body if not i.used and i.kind != "and"]
    if left:
        raise Declined(f"nothing takes {left[0].text!r}")
    return query


def _relations(items: list[Item], lex: Lexicon) -> None:
    """A relation verb ("templates used by documents") must sit between two tables the
    question names that a foreign key links; the link itself is the join the rest of
    the question already makes."""
    for index, item in enumerate(items):
        if item.kind != "rel":
            continue
        before = {t for i in items[:index] for t in i.tables}
        after = {t for i in items[index + 1 :] for t in i.tables}
        if not any(a != b and lex.link(a, b) for a in before for b in after):
            raise Declined(f"{item.text!r} ties no two linked tables the question names")


def _events(items: list[Item]) -> None:
    """A verb of a thing's date ("produced", "released") must come right before a year
    that a preposition or comparison introduces: "cars produced in 1980"."""
    for index, item in enumerate(items):
        if item.kind != "event":
            continue
        after = items[index + 1 : index + 3]
        dated = (
            len(after) == 2
            and (after[0].text in _YEAR_WORDS or after[0].kind == "cmp")
            and after[1].kind == "num"
            and _YEAR.fullmatch(after[1].text) is not None
        )
        if not dated:
            raise Declined(f"{item.text!r} is said of no year")


def _orderings(items: list[Item], body: list[Item], query: Query) -> None:
    for item in body:
        if item.used or item.kind not in {"order", "dir"}:
            continue
        if item.kind == "order":
            column = next_of(body, item, "schema")
            if column is None or column.used:
                raise Declined(f"{item.text!r} names no column")
            direction = next_of(body, column, "dir")
        else:
            column = prev_of(body, item, "schema")
            direction = item
            if column is None or column.used or not column.columns:
                continue  # "the names of the sections in reverse order": `_listed_order`
        column.used = item.used = True
        chosen = item.data
        if direction is not None and direction is not item:
            direction.used = True
            chosen = direction.data
        query.set_order(column.columns, chosen)


def _superlatives(items: list[Item], body: list[Item], query: Query) -> None:
    for item in body:
        if item.used:
            continue
        if item.kind == "isup":
            word, direction = item.data
            item.used = True
            query.set_order((), direction, implied=word, limit=1)
        elif item.kind == "sup" and (table := _counted_table(body, item)) is not None:
            item.used = table.used = True
            if query.table and query.table != table.tables[0]:
                raise Declined("the rows counted are not the table asked about")
            query.table = table.tables[0]
            query.count_extreme = item.data  # "which year has the most concerts"
        elif item.kind == "sup":
            marker = just_before(items, item)
            if marker is not None and marker.text == "the":
                marker = just_before(items, marker)
            column = next_of(body, item, "schema")
            if marker is None or marker.text not in _ROW_MARKERS or column is None:
                continue  # an aggregate: "the highest price"
            if marker.text not in {"with", "whose"}:
                raise Declined("'which X has the most Y' is a total per X")
            column.used = item.used = True
            query.set_order(column.columns, item.data, limit=1)
        elif item.kind == "mode":
            column = next_of(body, item, "schema")
            if column is None or not column.columns:
                raise Declined(f"{item.text!r} names no column")
            column.used = item.used = True
            query.set_mode(column.columns, item.pos)


def _counted_table(body: list[Item], item: Item) -> Item | None:
    """The table after "the most" / "the fewest" (``most number of concerts`` too)."""
    following = next_of(body, item)
    if following is not None and following.kind == "count":
        following = next_of(body, following)
    if following is None or following.kind != "schema" or following.columns or not following.tables:
        return None
    if item.text not in {"most", "least", "fewest"}:
        return None
    counting = next_of(body, item)
    if counting is not None and counting.kind == "count":
        counting.used = True
    return following


def _aggregates(body: list[Item], query: Query) -> None:
    pending: list[Item] = []
    for item in body:
        if item.used:
            continue
        if item.kind in {"agg", "sup"}:
            if pending and prev_of(body, item) is pending[-1]:
                raise Declined("an aggregate of an aggregate ('the highest average')")
            pending.append(item)
        elif item.kind == "schema" and pending and item.columns:
            numeric = tuple(c for c in item.columns if c.numeric)
            if not numeric:
                raise Declined(f"{item.text!r} is not a numeric column")
            for agg in pending:
                func = agg.data if agg.kind == "agg" else ("MAX" if agg.data == "DESC" else "MIN")
                agg.used = True
                query.add_aggregate(func, numeric, agg.pos)
            item.used = True
            pending = []
        elif item.kind != "and" and pending:
            _unaggregated(pending, query)
            pending = []
    _unaggregated(pending, query)


def _unaggregated(pending: list[Item], query: Query) -> None:
    """Aggregate words no column follows, that are also a column's name: alone, the
    aggregate of that column ("the total of orders" is SUM(total)); beside another
    selection, the column ("the maximum capacity and the average")."""
    if len(pending) == 1 and pending[0].columns:
        agg = pending[0]
        agg.used = True
        if query.select or agg.kind != "agg":
            query.add_column(agg.columns, agg.pos)
        else:
            query.add_aggregate(agg.data, agg.columns, agg.pos)
    elif pending:
        raise Declined(f"{pending[0].text!r} aggregates no column")


def _counts(items: list[Item], body: list[Item], query: Query, lex: Lexicon) -> None:
    for item in body:
        if item.used or item.kind != "count":
            continue
        item.used = True
        named = [w for w in item.text.split() if (w,) in lex.columns]
        if named:  # "the number of the member", "the total count of sightings"
            raise Declined(f"'{item.text}': a count, or the column {named[0]!r}")
        while (again := next_of(body, item, "count")) is not None:  # "count the number of"
            item = again
            item.used = True
        distinct = next_of(body, item, "distinct")
        column = next_of(body, distinct, "schema") if distinct else None
        if distinct is not None and column is not None and column.columns and not column.tables:
            distinct.used = column.used = True
            query.add_count(column.columns, item.pos)
        else:
            query.add_count((), item.pos)


def _groups(items: list[Item], body: list[Item], query: Query) -> None:
    for item in body:
        if item.used or item.kind not in {"each", "distinct"}:
            continue
        if item.kind == "distinct":  # "the maximum speed for different types"
            marker = just_before(items, item)
            aggregated = any(s.func for s in query.select)
            if marker is None or marker.text != "for" or not aggregated:
                continue
        column = next_of(body, item, "schema")
        if column is None:
            raise Declined(f"{item.text!r} names nothing")
        item.used = True
        if column.tables and not column.columns:
            column.used = True
            if not query.select and item.text != "per":  # "each singer": every row of it
                query.table = column.tables[0]
            elif all(s.func == "COUNT" and not s.columns for s in query.select):
                query.per = column.tables[0]  # "the number of concerts in each stadium"
            else:
                raise Declined("per row of a table: an aggregate of aggregates")
        elif column.columns:
            column.used = True
            query.set_group(column.columns, column.pos, first=body[0].kind == "count")


def _owned_listing(body: list[Item], query: Query, lex: Lexicon) -> None:
    """A listing whose columns say their table ("the paragraph texts for the document
    X"): the rows listed are that table's, and the table the question names is the one
    their foreign key reaches, for its filters."""
    if not query.table or any(s.func for s in query.select):
        return
    owners = {_owner(i, lex) for i in body if i.kind == "schema" and i.columns and not i.tables}
    if len(owners) != 1 or None in owners:
        return
    owner = owners.pop()
    if owner is not None and owner != query.table and lex.link(owner, query.table):
        query.others.append(query.table)
        query.table = owner


def _owner(item: Item, lex: Lexicon) -> str | None:
    """The table whose name the column's words start with, when every column the words
    name is in it ("paragraph texts": Paragraphs)."""
    tables = {c.table for c in item.columns}
    if len(tables) != 1:
        return None
    table = tables.pop()
    stems = tuple(stem(w) for w in item.text.split())
    named = any(name == table and stems[: len(key)] == key for key, name in lex.tables.items())
    return table if named else None


def _listed_order(body: list[Item], query: Query) -> None:
    """An alphabetical direction after a table ("the names of the sections in reverse
    alphabetical order") orders by the one column listed; "in order" alone says not by
    what."""
    for item in body:
        if item.used or item.kind != "dir" or len(query.select) != 1 or query.select[0].func:
            continue
        if not any(w.startswith(("alphabetic", "lexicographic")) for w in item.text.split()):
            continue
        item.used = True
        query.set_order(query.select[0].columns, item.data)


def _rest(body: list[Item], query: Query) -> None:
    for index, item in enumerate(body):
        if item.used:
            continue
        later = {t for other in body[index + 1 :] if not other.used for t in other.tables}
        if item.tables and item.columns and item.tables[0] in later:
            item.tables = ()  # "the department and budget of departments": the column
        if item.kind == "distinct":
            item.used = True
            query.distinct = True
        elif item.kind == "schema":
            item.used = True
            if item.tables and (not item.columns or not query.table):
                if query.table == item.tables[0]:
                    raise Declined("one table named twice: two sets of rows compared")
                if query.table and query.table != item.tables[0]:
                    query.others.append(item.tables[0])
                else:
                    query.table = item.tables[0]
            else:
                query.add_column(item.columns, item.pos)
