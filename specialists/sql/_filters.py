"""Filters the rule-based writer reads from a question: equality on a stored value (its
column named before or after it, alternatives after "or", a negation before it), a
comparison with a number (the column named, or implied by the comparison's word, a unit
or a year), and a bare number beside a numeric column ("4 cylinders", "in 2014").
"""

from __future__ import annotations

import re

from trifecta.specialists.sql._items import Item, just_before, next_of, prev_of
from trifecta.specialists.sql._lexicon import ColumnRef, ValueRef
from trifecta.specialists.sql._lexicon import words as lexicon_words
from trifecta.specialists.sql._query import Declined, Query

__all__ = ["filters"]

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


def _numeric_columns(item: Item | None, keys: bool = True) -> tuple[ColumnRef, ...]:
    """The columns a number can be compared with: numbers, and dates (with a year); keys
    only when `keys` (an id equals a number, but is never more or less than one)."""
    if item is None or item.used or item.kind != "schema":
        return ()
    return tuple(c for c in item.columns if (c.numeric or c.dated) and (keys or not c.key))


def filters(items: list[Item], body: list[Item], query: Query) -> None:
    """Take the filters of the question's items into `query`."""
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
    negation = prev_of(body, item, "not")
    naming = prev_of(body, negation or item, "named")
    if naming is not None:  # "the shop named X": X is a name or title
        refs = [r for r in refs if any(w in _NAME_WORDS for w in lexicon_words(r.column))]
        naming.used = True
    named = prev_of(body, naming or negation or item, "schema")
    if named is not None and not named.used:
        chosen = [
            r
            for r in refs
            if any(c.table == r.table and c.column == r.column for c in named.columns)
        ]
        if chosen:
            refs = chosen
            named.used = True
    following = next_of(body, item, "schema")  # "the office category", "high priority"
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
    while (joiner := next_of(body, item, "or")) is not None:
        other = next_of(body, joiner, "value")
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
    before = prev_of(body, item)
    columns = _numeric_columns(before, keys=False)  # "whose age is older than 1"
    if item.kind == "icmp":
        word, op = item.data
        implied = "" if columns else word
    else:
        op, implied = item.data, ""
    number = next_of(body, item, "num")
    if number is None and not columns and not implied:  # "above age 20"
        named = next_of(body, item, "schema")
        columns = _numeric_columns(named, keys=False)
        number = next_of(body, named, "num") if columns and named is not None else None
        before = named
    if number is None:
        raise Declined(f"{item.text!r} compares with no number")
    operands, number = _operands(body, op, number)
    unit = next_of(body, number, "money")
    if unit is not None and not columns and not implied:
        unit.used = True
        implied = "money"
    if not columns and not implied:
        after = next_of(body, number)
        columns = _numeric_columns(after, keys=False)
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
    joiner = next_of(body, number, "and")
    upper = next_of(body, joiner, "num") if joiner else None
    if joiner is None or upper is None:
        raise Declined("between needs two numbers")
    joiner.used = upper.used = True
    return (number.data, upper.data), upper


def _number_alternatives(body: list[Item], number: Item) -> tuple[tuple[str, ...], Item]:
    """``32 or 33``: the numbers and the last of them."""
    out = [number.data]
    while (joiner := next_of(body, number, "or")) is not None:
        other = next_of(body, joiner, "num")
        if other is None:
            raise Declined("an alternative that is not a number")
        joiner.used = other.used = True
        out.append(other.data)
        number = other
    return tuple(out), number


def _number_filter(items: list[Item], body: list[Item], item: Item, query: Query) -> None:
    """``4 cylinders``, ``age 3`` or ``year 2014 or 2015`` (equality on the numeric column
    beside it), ``in 2014`` (the year column)."""
    after, before = next_of(body, item), prev_of(body, item)
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
            numbers = _number_alternatives(body, item)[0] if side is before else (item.data,)
            query.add_filter(columns, "IN" if len(numbers) > 1 else "=", numbers)
            return
    previous = just_before(items, item)
    if previous is not None and previous.text == "in" and _YEAR.fullmatch(item.data):
        item.used = True
        query.add_filter((), "=", (item.data,), implied="date")
