"""The SQL of the rule-based writer's query (SQLite spelling, identifiers quoted), and
the checks that decline a query that would answer something else than the question.
"""

from __future__ import annotations

import re
from dataclasses import replace

from trifecta.specialists.sql._lexicon import ColumnRef, Lexicon, stem_words
from trifecta.specialists.sql._query import Declined, Filter, Query, Selected
from trifecta.specialists.sql._resolver import Resolver, literal, quote

__all__ = ["gaps", "render"]

_PEOPLE = frozenset({("person",), ("individual",)})
_RANK_WORDS = frozenset({"rank", "ranking", "position", "place", "seed"})
_EQUALITY = frozenset({"=", "!=", "IN", "NOT IN"})
_YEAR = re.compile(r"1[89]\d\d|2[01]\d\d")


def render(query: Query, lex: Lexicon, unknown_is_other: bool = True) -> str:
    """The SQL of `query` (SQLite spelling, identifiers quoted). "The highest" and "the
    most common" keep every tied row: a LIMIT 1 would pick one of them at random. A
    negation keeps the rows whose value is unknown unless `unknown_is_other` is False."""
    query = _per_row(query, lex)
    _check_shape(query)
    resolver = Resolver(query, lex, unknown_is_other)
    _render(query, resolver)  # settles the join, so that the second pass qualifies every name
    return _render(query, resolver)


def gaps(query: Query, lex: Lexicon) -> str | None:
    """For a count per row of another table whose answer a count of 0 would change (the
    counts listed, "fewer than 2", "the fewest"): SQL counting the rows of that table
    (under its filters) that no counted row (under the counted table's filters) refers to.
    The query leaves those rows out; the question may mean them with 0."""
    if not query.per:
        return None
    per_row = _per_row(query, lex)
    zero_counts = (
        any(s.func == "COUNT" for s in per_row.select)
        or per_row.mode == "ASC"
        or (per_row.count_filter is not None and _holds_for_zero(*per_row.count_filter))
    )
    if not zero_counts:
        return None
    resolver = Resolver(per_row, lex, True)
    _render(per_row, resolver)
    link = lex.link(resolver.main, per_row.per)
    assert link is not None
    own: list[str] = []
    theirs: list[str] = []
    for item in per_row.filters:
        ref = resolver.column(item.columns, item.implied)
        (own if ref.table == resolver.main else theirs).append(_condition(item, resolver))
    counted = " AND ".join([f"T1.{quote(link[0])} = T2.{quote(link[1])}", *own])
    missing = f"NOT EXISTS (SELECT 1 FROM {quote(resolver.main)} AS T1 WHERE {counted})"
    return f"SELECT COUNT(*) FROM {quote(per_row.per)} AS T2 WHERE " + " AND ".join(
        [missing, *theirs]
    )


def _holds_for_zero(op: str, number: str) -> bool:
    return {"<": int(number) > 0, "<=": True, "=": number == "0", ">=": number == "0"}.get(
        op, False
    )


def _per_row(query: Query, lex: Lexicon) -> Query:
    """A count per row of another table ("the number of concerts in each stadium"):
    grouped by the key the main table refers to, selecting only that table's columns."""
    if not query.per:
        return query
    main, per = query.table, query.per
    if main == per and len(query.others) == 1:  # "the patients and the number of visits"
        main = query.others[0]
        query = replace(query, table=main, others=[per])
    if not main or main == per:
        raise Declined("the rows counted per row of a table are not named")
    keys = [fk for fk in lex.schema.tables[main].foreign_keys if fk.table.lower() == per.lower()]
    key = lex.column(per, keys[0].ref_column) if len(keys) == 1 else None
    if key is None or lex.link(main, per) is None:
        raise Declined(f"{main} does not refer to {per} along one key")
    if any(s.func and (s.func != "COUNT" or s.columns) for s in query.select):
        raise Declined("only rows are counted per row of a table")
    select = [
        s if s.func else replace(s, columns=tuple(r for r in s.columns if r.table == per))
        for s in query.select
    ]
    if any(not s.func and not s.columns for s in select):
        raise Declined(f"a selected column that {per} does not have")
    if all(s.func for s in select) and query.count_filter is None and not query.mode:
        raise Declined(f"counts per row of {per}, but nothing says which row")
    others = query.others if per in query.others else [*query.others, per]
    return replace(query, select=select, group=(key,), others=others)


def _render(query: Query, resolver: Resolver) -> str:
    select = [_select(s, resolver) for s in sorted(query.select, key=lambda s: s.pos)]
    where = [_condition(f, resolver) for f in query.filters]
    _one_equality_per_column(query, resolver)
    _check_selection(query, resolver)
    key = group = resolver.name(resolver.column(query.group)) if query.group else ""
    if query.per:  # the key, and the columns selected beside it (one value per key)
        plain = [resolver.name(resolver.column(s.columns)) for s in query.select if not s.func]
        group = ", ".join(dict.fromkeys([key, *plain]))
    extreme = order = ""
    if query.order is not None:
        columns, direction, implied = query.order
        ref = resolver.column(columns, implied)
        if ref.table != resolver.main and ref.table not in query.others:
            raise Declined(
                f"ordered by {ref.column} of {ref.table}, a table the question does not name"
            )
        if not (ref.numeric or ref.dated or (ref.textual and query.limit is None)):
            raise Declined(f"{ref.column} does not order by value")
        name = resolver.value(ref)
        if query.limit == 1:
            extreme = f"{name} = (SELECT {'MAX' if direction == 'DESC' else 'MIN'}({name}) FROM "
        else:
            order = f" ORDER BY {name}{' DESC' if direction == 'DESC' else ''}"
    if resolver.fans_out():
        raise Declined("a join that repeats the rows counted, listed or compared")
    for other in query.others:
        if other not in {resolver.main, resolver.joined}:
            raise Declined(f"table {other} is not part of the query")
    source = resolver.source()
    if query.mode or query.count_filter is not None:  # a NULL is no value to count
        where.append(f"{key} IS NOT NULL")
    filtered = f" WHERE {' AND '.join(where)}" if where else ""
    if extreme:
        where.append(f"{extreme}{source}{filtered})")
    sql = f"SELECT {'DISTINCT ' if query.distinct else ''}{', '.join(select)} FROM {source}"
    sql += f" WHERE {' AND '.join(where)}" if where else ""
    sql += f" GROUP BY {group}" if group else ""
    if query.count_filter is not None:
        sql += f" HAVING COUNT(*) {query.count_filter[0]} {query.count_filter[1]}"
    if query.mode:
        counts = f"SELECT COUNT(*) AS n FROM {source}{filtered} GROUP BY {group}"
        extreme = "MAX" if query.mode == "DESC" else "MIN"
        sql += f" HAVING COUNT(*) = (SELECT {extreme}(n) FROM ({counts}) AS counts)"
    return sql + order


def _check_selection(query: Query, resolver: Resolver) -> None:
    """Decline what the query would answer differently from the question: a yes/no column
    listed ("the smokers"), a column taken from a table the question does not name, a
    negation or comparison across an inner join (rows without a match vanish), an extreme
    of the joined table's rows, "the highest rank", a value filter on a table that refers to
    itself ("the manager of Bob")."""
    plain = [resolver.column(s.columns) for s in query.select if not s.func and s.columns]
    if any(ref.flag for ref in plain):
        raise Declined("a yes/no column is a condition, not a thing to list")
    selected = [resolver.column(s.columns) for s in query.select if s.columns]
    if (
        any(r.table == resolver.joined for r in selected)
        and resolver.joined not in query.others
        and not _person_of(resolver)
    ):
        raise Declined("a column of a table the question does not name ('the names of books')")
    for item in query.filters:
        ref = resolver.column(item.columns, item.implied)
        if ref.table == resolver.joined and item.op not in {"=", "IN"}:
            raise Declined("a negation or comparison across a join drops unmatched rows")
    if query.order is not None and query.limit == 1:
        columns, _, implied = query.order
        if resolver.column(columns, implied).table == resolver.joined:
            raise Declined("the highest of the joined table's rows, or of all its rows?")
    ranked = [resolver.column(query.order[0], query.order[2])] if query.order else []
    ranked += [resolver.column(s.columns) for s in query.select if s.func in {"MAX", "MIN"}]
    if any(set(_RANK_WORDS) & {w for n in r.names for w in n} for r in ranked):
        raise Declined("the highest rank: the largest number, or rank 1?")
    tables = {resolver.main, resolver.joined} - {""}
    schema = resolver.lex.schema
    own_keys = any(
        fk.table.lower() == t.lower() for t in tables for fk in schema.tables[t].foreign_keys
    )
    if own_keys and any(f.op in _EQUALITY and not _is_number(f.operands[0]) for f in query.filters):
        raise Declined("a value filter on a table that refers to itself (manager of, parent of)")


def _person_of(resolver: Resolver) -> bool:
    """Whether the main table's rows are people the joined table describes: a table of
    people (``people``, ``person``) that the main table refers to by its own key's name
    (``poker_player.People_ID``): the name of a poker player is that person's name (a
    ``customer_id`` would be another person, not the row itself)."""
    schema = resolver.lex.schema
    joined = schema.tables.get(resolver.joined)
    if joined is None or stem_words(joined.name) not in _PEOPLE:
        return False
    return any(
        fk.table.lower() == joined.name.lower()
        and stem_words(fk.column) == (*stem_words(joined.name), "id")
        for fk in schema.tables[resolver.main].foreign_keys
    )


def _one_equality_per_column(query: Query, resolver: Resolver) -> None:
    """``text = 'Brazil' AND text = 'Ireland'`` holds for no row: the question meant two
    sets of rows (an INTERSECT), which the rules do not write."""
    seen: dict[tuple[str, str], list[str]] = {}
    for item in query.filters:
        ref = resolver.column(item.columns, item.implied)
        seen.setdefault((ref.table, ref.column), []).append(item.op)
    for ops in seen.values():
        if len(ops) > 1 and any(op in _EQUALITY for op in ops):
            raise Declined("one column filtered twice for equality")


def _check_shape(query: Query) -> None:
    functions = [s for s in query.select if s.func]
    plain = [s for s in query.select if not s.func]
    if not query.select:
        raise Declined("nothing to select")
    if functions and not query.group and (plain or query.order):
        raise Declined("an aggregate beside a plain column or an ordering")
    if query.group and len(plain) > 1 and not query.per:
        raise Declined("a grouped query selecting other columns")
    if query.mode and functions:
        raise Declined("the most common value with an aggregate")
    if query.distinct and functions:
        raise Declined("distinct with an aggregate")


def _select(item: Selected, resolver: Resolver) -> str:
    if item.func == "COUNT":
        if not item.columns:
            return "COUNT(*)"
        return f"COUNT(DISTINCT {resolver.name(resolver.column(item.columns))})"
    ref = resolver.column(item.columns)
    if item.func and not ref.numeric:
        raise Declined(f"{item.func} of a text column")
    return f"{item.func}({resolver.value(ref)})" if item.func else resolver.name(ref)


def _condition(item: Filter, resolver: Resolver) -> str:
    _one_reading(item, resolver)
    ref = resolver.column(item.columns, item.implied)
    name = resolver.name(ref)
    if (
        item.op == "="
        and ref.dated
        and len(item.operands) == 1
        and _YEAR.fullmatch(item.operands[0])
    ):
        return _date_condition(name, ref, Filter(item.columns, "BETWEEN", item.operands * 2))
    if item.op in _EQUALITY:
        if ref.numeric != all(_is_number(o) for o in item.operands):
            raise Declined("a number compared with a text column, or text with a number")
        bare = ref.numeric and not ref.whole
        if item.op in {"IN", "NOT IN"}:
            listed = ", ".join(literal(o, bare) for o in item.operands)
            test = f"{name} {item.op} ({listed})"
        else:
            test = f"{name} {item.op} {literal(item.operands[0], bare)}"
        if item.op in {"!=", "NOT IN"} and resolver.unknown_is_other:
            return f"({test} OR {name} IS NULL)"
        return test
    if not all(_is_number(o) for o in item.operands):
        raise Declined("a comparison with something not a number")
    if not ref.numeric:
        return _date_condition(name, ref, item)
    name = resolver.value(ref)
    if item.op == "BETWEEN":
        return f"{name} BETWEEN {item.operands[0]} AND {item.operands[1]}"
    return f"{name} {item.op} {item.operands[0]}"


def _one_reading(item: Filter, resolver: Resolver) -> None:
    """A filter whose word (or stored value) names columns of two tables within reach,
    not copies of one key, is declined: "Smith" the doctor or the patient?"""
    lex, main = resolver.lex, resolver.main
    within = {
        (r.table, r.column)
        for r in item.columns
        if r.table == main or lex.link(main, r.table) is not None
    }
    if len(within) > 1 and not lex.one_key(within):
        raise Declined("a filter that names columns of two tables the query reaches")


def _date_condition(name: str, ref: ColumnRef, item: Filter) -> str:
    """A year compared with a date column: ``before 1970`` is ``< '1970-01-01'``,
    ``after 1970`` is ``>= '1971-01-01'``, ``between 1960 and 1970`` takes both years whole."""
    if not ref.dated or not all(_YEAR.fullmatch(o) for o in item.operands):
        raise Declined("a numeric comparison on a text column")
    first, last = int(item.operands[0]), int(item.operands[-1])
    bounds = {
        "<": f"< '{first}-01-01'",
        "<=": f"< '{first + 1}-01-01'",
        ">": f">= '{first + 1}-01-01'",
        ">=": f">= '{first}-01-01'",
    }
    if item.op in bounds:
        return f"{name} {bounds[item.op]}"
    return f"{name} >= '{first}-01-01' AND {name} < '{last + 1}-01-01'"  # BETWEEN, years


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
