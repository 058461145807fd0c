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
from collections.abc import Callable, Iterable

import sqlglot

from trifecta.specialists.sql._items import Item, read
from trifecta.specialists.sql._lexicon import ColumnRef, Lexicon, ValueRef, lexicon
from trifecta.specialists.sql._lexicon import words as lexicon_words
from trifecta.specialists.sql._query import Declined, Query, render
from trifecta.specialists.sql._schema import Schema

__all__ = ["Writer"]

_MAX_QUESTION = 500
_RELATIONS = frozenset({"since", "before", "after", "until", "from", "to", "over", "under"})
_YEAR = re.compile(r"1[89]\d\d|2[01]\d\d")
_DATE_WORDS = frozenset({"after", "before", "since", "until", "earlier than", "later than"})
_DIRECTIONAL = frozenset(
    [
        "from",
        "to",
        "origin",
        "destination",
        "source",
        "dest",
        "departure",
        "arrival",
        "sender",
        "receiver",
        "recipient",
        "home",
        "away",
        "start",
        "end",
    ]
)
_NAME_WORDS = frozenset({"name", "title"})
_WEAK_VALUES = frozenset({"yes", "no", "none", "other", "unknown", "true", "false", "null", "n/a"})
_SENTENCE_END = re.compile(r"(?<=[?!;])\s+|(?<=[a-z0-9)'\"]\.)\s+(?=[A-Z])|\n+")
_ORDER_SENTENCE = re.compile(r"^(?:sort|order)(?:ed)?\s+(?:\w+\s+)?by\b[^.?!;]*[.?!]?$", re.I)
_ROW_MARKERS = frozenset({"with", "has", "have", "whose", "of", "by", "for"})


class Writer:
    """Writes SQL for the questions one database's schema and values explain."""

    def __init__(
        self,
        schema: Schema,
        values: Callable[[str, str], Iterable[str]] | None = None,
        dialect: str = "sqlite",
    ) -> None:
        self.lexicon: Lexicon = lexicon(schema, values)
        self.dialect = dialect

    def write(self, question: str) -> str | None:
        """SQL for `question` in the writer's dialect, or None when the rules do not
        explain all of it."""
        text = _one_question(question)
        if text is None:
            return None
        try:
            items = read(text, self.lexicon)
            sql = render(_interpret(items, self.lexicon), self.lexicon)
        except Declined:
            return None
        if self.dialect == "sqlite":
            return sql
        return sqlglot.transpile(sql, read="sqlite", write=self.dialect)[0]


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
    body = [i for i in items if i.kind != "filler"]
    _filters(items, body, query)
    _orderings(items, body, query)
    _superlatives(items, body, query)
    _aggregates(body, query)
    _counts(items, body, query, lex)
    _groups(items, body, query)
    _rest(body, query)
    if query.count_filter is not None:
        query.group_selected()
    if query.count_extreme:
        query.most_rows(query.count_extreme)
    left = [i for i in body if not i.used and i.kind != "and"]
    if left:
        raise Declined(f"nothing takes {left[0].text!r}")
    return query


def _before(items: list[Item], item: Item) -> Item | None:
    """The item just before `item` in the question (fillers included)."""
    index = items.index(item)
    return items[index - 1] if index > 0 else None


def _next(body: list[Item], item: Item, kind: str | None = None) -> Item | None:
    index = body.index(item)
    following = body[index + 1] if index + 1 < len(body) else None
    return following if following is not None and (kind is None or following.kind == kind) else None


def _prev(body: list[Item], item: Item, kind: str | None = None) -> Item | None:
    index = body.index(item)
    previous = body[index - 1] if index > 0 else None
    return previous if previous is not None and (kind is None or previous.kind == kind) else None


def _numeric_columns(item: Item | None) -> tuple[ColumnRef, ...]:
    """The columns a number can be compared with: numbers, and dates (with a year)."""
    if item is None or item.used or item.kind != "schema":
        return ()
    return tuple(c for c in item.columns if c.numeric or c.dated)


def _filters(items: list[Item], body: list[Item], query: Query) -> None:
    for item in body:
        if item.used:
            continue
        if item.kind == "value":
            _value_filter(body, item, query)
        elif item.kind in {"cmp", "icmp"}:
            _comparison(body, item, query)
    for item in body:
        if item.kind == "num" and not item.used:
            _number_filter(items, body, item, query)


def _value_filter(body: list[Item], item: Item, query: Query) -> None:
    """A stored value: equality on its column; a column named just before it picks
    among columns that store it ("template type code PPT")."""
    refs = list(item.values)
    negation = _prev(body, item, "not")
    naming = _prev(body, negation or item, "named")
    if naming is not None:  # "the shop named X": X is a name or title
        refs = [r for r in refs if any(w in _NAME_WORDS for w in lexicon_words(r.column))]
        naming.used = True
    named = _prev(body, naming or negation or item, "schema")
    if named is not None and not named.used:
        chosen = [
            r
            for r in refs
            if any(c.table == r.table and c.column == r.column for c in named.columns)
        ]
        if chosen:
            refs = chosen
            named.used = True
    following = _next(body, item, "schema")  # "the office category", "high priority"
    if following is not None and not following.used and (named is None or not named.used):
        chosen = [
            r
            for r in refs
            if any((c.table, c.column) == (r.table, r.column) for c in following.columns)
        ]
        if chosen:
            refs, named = chosen, following
            following.used = True
    directed = any(set(lexicon_words(r.column)) & _DIRECTIONAL for r in refs)
    if directed and (named is None or not named.used):
        raise Declined(f"{item.text!r} is stored in a column of one direction (from/to): name it")
    weak = len(item.text) <= 2 or item.text in _WEAK_VALUES
    if weak and item.data != "quoted" and (named is None or not named.used):
        raise Declined(f"{item.text!r} is a value only after its column's name")
    if not refs or len({r.value for r in refs}) != 1:
        raise Declined(f"{item.text!r} is stored in more than one spelling, or not as a name")
    item.used = True
    values = (refs[0].value, *_alternatives(body, item, refs))
    if negation is not None:
        negation.used = True
    op = ("!=" if negation else "=") if len(values) == 1 else ("NOT IN" if negation else "IN")
    # several columns may store it (a key and its copy): the query's tables choose
    query.add_filter(tuple(ColumnRef(r.table, r.column, False, ()) for r in refs), op, values)


def _alternatives(body: list[Item], item: Item, refs: list[ValueRef]) -> tuple[str, ...]:
    """The values after ``or`` that the same column stores ("PP or PPT")."""
    stored = {(r.table, r.column) for r in refs}
    out: list[str] = []
    while (joiner := _next(body, item, "or")) is not None:
        other = _next(body, joiner, "value")
        same = [r for r in other.values if (r.table, r.column) in stored] if other else []
        if other is None or {(r.table, r.column) for r in same} != stored:
            raise Declined("an alternative that is not a value of the same column")
        if len({r.value for r in same}) != 1:
            raise Declined("an alternative stored in more than one spelling")
        joiner.used = other.used = True
        out.append(same[0].value)
        item = other
    return tuple(out)


def _comparison(body: list[Item], item: Item, query: Query) -> None:
    """``<column> more than <n>``, ``more than <n> <column>``, ``above <column> <n>`` or
    an implied column (``older than 30``); ``between <n> and <m>``."""
    before = _prev(body, item)
    columns = _numeric_columns(before)  # "whose age is older than 1"
    if item.kind == "icmp":
        word, op = item.data
        implied = "" if columns else word
    else:
        op, implied = item.data, ""
    number = _next(body, item, "num")
    if number is None and not columns and not implied:  # "above age 20"
        named = _next(body, item, "schema")
        columns = _numeric_columns(named)
        number = _next(body, named, "num") if columns and named is not None else None
        before = named
    if number is None:
        raise Declined(f"{item.text!r} compares with no number")
    operands, number = _operands(body, op, number)
    unit = _next(body, number, "money")
    if unit is not None and not columns and not implied:
        unit.used = True
        implied = "money"
    if not columns and not implied:
        after = _next(body, number)
        columns = _numeric_columns(after)
        if not columns and after is not None and after.kind == "schema":
            if after.columns or not after.tables or op in {"BETWEEN", "="}:
                raise Declined("a count compared with a number, on no table")
            item.used = after.used = True  # "with at least two paragraphs"
            query.having(after.tables[0], op, operands[0])
            return
        before = after
        if not columns:  # "orders after 2020": the date; "orders over 100": the amount
            dated = item.text in _DATE_WORDS or all(_YEAR.fullmatch(o) for o in operands)
            implied = "date" if dated else "money"
    if columns and before is not None:
        before.used = True
    item.used = True
    query.add_filter(columns, "IN" if op == "=" and len(operands) > 1 else op, operands, implied)


def _operands(body: list[Item], op: str, number: Item) -> tuple[tuple[str, ...], Item]:
    """The numbers a comparison takes (two for BETWEEN, alternatives for equality) and
    the last of them."""
    number.used = True
    if op == "=":
        return _number_alternatives(body, number)
    if op != "BETWEEN":
        return (number.data,), number
    joiner = _next(body, number, "and")
    upper = _next(body, joiner, "num") if joiner else None
    if joiner is None or upper is None:
        raise Declined("between needs two numbers")
    joiner.used = upper.used = True
    return (number.data, upper.data), upper


def _number_alternatives(body: list[Item], number: Item) -> tuple[tuple[str, ...], Item]:
    """``32 or 33``: the numbers and the last of them."""
    out = [number.data]
    while (joiner := _next(body, number, "or")) is not None:
        other = _next(body, joiner, "num")
        if other is None:
            raise Declined("an alternative that is not a number")
        joiner.used = other.used = True
        out.append(other.data)
        number = other
    return tuple(out), number


def _number_filter(items: list[Item], body: list[Item], item: Item, query: Query) -> None:
    """``4 cylinders`` or ``age 3`` (equality on the numeric column beside it), ``in 2014``
    (the year column)."""
    after, before = _next(body, item), _prev(body, item)
    if after is not None and (
        after.kind in {"sup", "isup", "value"} or (after.tables and not after.columns)
    ):
        raise Declined("a number before rows or a superlative: 'the 3 cheapest books' (top n)")
    for side in (after, before):
        if side is not None and side.kind == "schema" and side.text.split()[-1] in _RELATIONS:
            raise Declined(f"'{side.text} {item.data}': a comparison the column's name states")
        columns = _numeric_columns(side)
        if columns and side is not None:
            side.used = item.used = True
            query.add_filter(columns, "=", (item.data,))
            return
    previous = _before(items, item)
    if previous is not None and previous.text == "in" and _YEAR.fullmatch(item.data):
        item.used = True
        query.add_filter((), "=", (item.data,), implied="date")


def _orderings(items: list[Item], body: list[Item], query: Query) -> None:
    for item in body:
        if item.used or item.kind not in {"order", "dir"}:
            continue
        if item.kind == "order":
            column = _next(body, item, "schema")
            if column is None or column.used:
                raise Declined(f"{item.text!r} names no column")
            direction = _next(body, column, "dir")
        else:
            column = _prev(body, item, "schema")
            direction = item
            if column is None or column.used:
                continue
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
            marker = _before(items, item)
            if marker is not None and marker.text == "the":
                marker = _before(items, marker)
            column = _next(body, item, "schema")
            if marker is None or marker.text not in _ROW_MARKERS or column is None:
                continue  # an aggregate: "the highest price"
            if marker.text not in {"with", "whose"}:
                raise Declined("'which X has the most Y' is a total per X")
            column.used = item.used = True
            query.set_order(column.columns, item.data, limit=1)
        elif item.kind == "mode":
            column = _next(body, item, "schema")
            if column is None or not column.columns:
                raise Declined(f"{item.text!r} names no column")
            column.used = item.used = True
            query.set_mode(column.columns, item.pos)


def _counted_table(body: list[Item], item: Item) -> Item | None:
    """The table after "the most" / "the fewest" (``most number of concerts`` too)."""
    following = _next(body, item)
    if following is not None and following.kind == "count":
        following = _next(body, following)
    if following is None or following.kind != "schema" or following.columns or not following.tables:
        return None
    if item.text not in {"most", "least", "fewest"}:
        return None
    counting = _next(body, item)
    if counting is not None and counting.kind == "count":
        counting.used = True
    return following


def _aggregates(body: list[Item], query: Query) -> None:
    pending: list[Item] = []
    for item in body:
        if item.used:
            continue
        if item.kind in {"agg", "sup"}:
            if pending and _prev(body, item) is pending[-1]:
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
        while (again := _next(body, item, "count")) is not None:  # "count the number of"
            item = again
            item.used = True
        distinct = _next(body, item, "distinct")
        column = _next(body, distinct, "schema") if distinct else None
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
            marker = _before(items, item)
            aggregated = any(s.func for s in query.select)
            if marker is None or marker.text != "for" or not aggregated:
                continue
        column = _next(body, item, "schema")
        if column is None:
            raise Declined(f"{item.text!r} names nothing")
        item.used = True
        if column.tables and not column.columns:
            if item.text == "per" or query.select:
                raise Declined("per row of a table: an aggregate of aggregates")
            column.used = True  # "each singer": every row of the table
            query.table = column.tables[0]
        elif column.columns:
            column.used = True
            query.set_group(column.columns, column.pos, first=body[0].kind == "count")


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
