"""The query the rule-based writer assembles, and its SQL.

Columns arrive as candidates (a word like "name" names a column in several tables); the
table is the one the question names, or the one table holding every selected column.
A column outside it is reachable only along one foreign key; anything else declines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from trifecta.errors import TrifectaError
from trifecta.specialists.sql._lexicon import ColumnRef, Lexicon

__all__ = ["Declined", "Query", "negates", "render"]

Refs = tuple[ColumnRef, ...]
_RANK_WORDS = frozenset({"rank", "ranking", "position", "place", "seed"})
_MONEY_WORDS = frozenset({"amount", "price", "cost", "fee", "total", "revenue", "paid", "value"})
_EQUALITY = frozenset({"=", "!=", "IN", "NOT IN"})
_YEAR = re.compile(r"1[89]\d\d|2[01]\d\d")


class Declined(TrifectaError, ValueError):
    """The rules do not explain the question as one query."""


@dataclass
class _Filter:
    columns: Refs
    op: str
    operands: tuple[str, ...]
    implied: str = ""


@dataclass
class _Select:
    pos: int
    columns: Refs
    func: str = ""  # "", AVG, MAX, MIN, SUM, COUNT
    distinct: bool = False


@dataclass
class Query:
    """What the question asks, before its columns are resolved to tables."""

    table: str = ""
    others: list[str] = field(default_factory=list)
    select: list[_Select] = field(default_factory=list)
    filters: list[_Filter] = field(default_factory=list)
    order: tuple[Refs, str, str] | None = None  # columns, direction, implied word
    limit: int | None = None
    group: Refs = ()
    mode: str = ""  # DESC: the most common value; ASC: the least common
    distinct: bool = False
    count_filter: tuple[str, str] | None = None  # "with at least 2 <rows>": (op, n)
    count_extreme: str = ""  # "which X has the most <rows>": DESC, or ASC for the fewest

    def add_filter(
        self, columns: Refs, op: str, operands: tuple[str, ...], implied: str = ""
    ) -> None:
        """``column op operand`` (two operands for BETWEEN)."""
        self.filters.append(_Filter(columns, op, operands, implied))

    def set_order(
        self, columns: Refs, direction: str, implied: str = "", limit: int | None = None
    ) -> None:
        """Order by a column (or the column an adjective implies); one ordering only."""
        if self.order is not None:
            raise Declined("two orderings")
        self.order = (columns, direction, implied)
        self.limit = limit

    def set_mode(self, columns: Refs, pos: int) -> None:
        """The most common value of a column."""
        self.set_group(columns, pos, first=True)
        self.mode = "DESC"

    def having(self, table: str, op: str, number: str) -> None:
        """ "Hometowns shared by at least two teachers": a count of the table's rows per
        the selected column, compared with a whole number."""
        if self.table and self.table != table:
            raise Declined("the rows counted are not the table asked about")
        if not number.isdigit() or self.count_filter is not None:
            raise Declined("a count compared with something not a whole number")
        self.table = table
        self.count_filter = (op, number)

    def group_selected(self) -> None:
        """Group by the one plain selected column (for a count filter or extreme)."""
        plain = [s for s in self.select if not s.func]
        if len(plain) != 1 or len(self.select) != 1 or self.group:
            raise Declined("a count per group needs exactly one thing to group by")
        self.group = plain[0].columns

    def most_rows(self, direction: str) -> None:
        """ "Which year has the most concerts": the selected column's value that the most
        (or fewest) rows share; the column is named elsewhere in the question."""
        self.group_selected()
        self.mode = direction

    def set_group(self, columns: Refs, pos: int, first: bool = False) -> None:
        """Group by a column, which is also selected (first when the question opened
        with "how many")."""
        if self.group:
            raise Declined("two groupings")
        self.group = columns
        self.select.append(_Select(-1 if first else pos, columns))

    def add_aggregate(self, func: str, columns: Refs, pos: int) -> None:
        """``func(column)`` in the select list."""
        self.select.append(_Select(pos, columns, func))

    def add_count(self, columns: Refs, pos: int) -> None:
        """``COUNT(*)``, or ``COUNT(DISTINCT column)`` when columns are given."""
        self.select.append(_Select(pos, columns, "COUNT", distinct=bool(columns)))

    def add_column(self, columns: Refs, pos: int) -> None:
        """A plain selected column; the grouped column named again is selected once, where
        first named ("all countries and the number of singers in each country")."""
        grouped = [s for s in self.select if not s.func and s.columns == self.group]
        if self.group and grouped and set(columns) & set(self.group):
            grouped[0].pos = min(grouped[0].pos, pos)
            return
        self.select.append(_Select(pos, columns))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str, numeric: bool) -> str:
    if numeric:
        return value
    return "'" + value.replace("'", "''") + "'"


class _Resolver:
    """Places each column in the main table or the one table joined to it."""

    def __init__(self, query: Query, lex: Lexicon, unknown_is_other: bool) -> None:
        self.lex = lex
        self.unknown_is_other = unknown_is_other
        self.main = query.table or _main_table(query)
        self.joined = ""

    def column(self, refs: Refs, implied: str = "") -> ColumnRef:
        if implied == "money":
            return self._amount()
        if implied == "date":
            return self._date()
        if implied:  # "the oldest": the main table's own age (not age_rating), never a joined one
            found = [r for r in self._own() if any(_implies(implied, n) for n in r.names)]
            if len(found) != 1:
                raise Declined(f"no one {implied!r} column in {self.main}")
            return found[0]
        own = [r for r in refs if r.table == self.main]
        if len(own) == 1:
            return own[0]
        if own:
            raise Declined("a word names two columns of one table")
        reachable = [r for r in refs if self.lex.link(self.main, r.table) is not None]
        tables = {r.table for r in reachable}
        if self.joined:
            reachable = [r for r in reachable if r.table == self.joined]
        if len(reachable) != 1 or (not self.joined and len(tables) != 1):
            raise Declined("a column is in no table the question reaches in one hop")
        self.joined = reachable[0].table
        return reachable[0]

    def _own(self) -> list[ColumnRef]:
        table = self.lex.schema.tables[self.main]
        refs = [self.lex.column(self.main, c.name) for c in table.columns]
        return [r for r in refs if r is not None]

    def _date(self) -> ColumnRef:
        """The main table's one date column, else its one year column ("after 2020")."""
        dated = [r for r in self._own() if r.dated]
        years = [r for r in self._own() if r.numeric and any("year" in n for n in r.names)]
        unread = [r for r in self._own() if not (r.numeric or r.textual or r.dated or r.flag)]
        if len(dated) + len(years) != 1 or unread:  # a date stored as '20/08/2021' may be meant
            raise Declined("a year compared with no one date or year column")
        return [*dated, *years][0]

    def _amount(self) -> ColumnRef:
        """The main table's one number, when it is an amount ("orders over 100"); with
        another number beside it ("members over 25": age or deposit?) nothing is guessed."""
        table = self.lex.schema.tables[self.main]
        refs = [self.lex.column(self.main, c.name) for c in table.columns if not c.primary_key]
        numeric = [
            r for r in refs if r is not None and r.numeric and not r.column.lower().endswith("id")
        ]
        money = [r for r in numeric if any(_MONEY_WORDS & set(n) for n in r.names)]
        if len(money) != 1 or len(numeric) != 1:
            raise Declined("a number compared with no column, and no one amount column")
        return money[0]

    def value(self, ref: ColumnRef) -> str:
        """The column as a value to compare, order or aggregate: whole numbers stored as
        text are cast, so that 100 sorts after 30."""
        name = self.name(ref)
        return f"CAST({name} AS INTEGER)" if ref.whole else name

    def name(self, ref: ColumnRef) -> str:
        if not self.joined:
            return _quote(ref.column)
        return f"{'T1' if ref.table == self.main else 'T2'}.{_quote(ref.column)}"

    def fans_out(self) -> bool:
        """Whether the join repeats rows of the main table (the joined table refers to
        it: one patient, many appointments)."""
        main = self.lex.schema.tables[self.main]
        return bool(self.joined) and not any(
            fk.table.lower() == self.joined.lower() for fk in main.foreign_keys
        )

    def source(self) -> str:
        if not self.joined:
            return _quote(self.main)
        link = self.lex.link(self.main, self.joined)
        assert link is not None
        return (
            f"{_quote(self.main)} AS T1 JOIN {_quote(self.joined)} AS T2 "
            f"ON T1.{_quote(link[0])} = T2.{_quote(link[1])}"
        )


def _implies(word: str, name: tuple[str, ...]) -> bool:
    """Whether a column named `name` is what an adjective means: "oldest" the `age` (not
    `age_rating`), "born" a birth date or year."""
    return name == (word,) or (word == "birth" and "birth" in name)


def _tables_of_all(candidates: list[Refs]) -> set[str]:
    """The tables that hold a candidate of every one of `candidates`."""
    tables = {r.table for r in candidates[0]}
    for refs in candidates[1:]:
        tables &= {r.table for r in refs}
    return tables


def _main_table(query: Query) -> str:
    """The one table that holds a candidate of every selected column (and, when that
    leaves several, of every filtered column too)."""
    selected = [s.columns for s in query.select if s.columns]
    if not selected:
        raise Declined("the question names no table")
    common = _tables_of_all(selected)
    filtered = [f.columns for f in query.filters if f.columns]
    if len(common) > 1 and filtered:
        common &= _tables_of_all(filtered)
    if len(common) != 1:
        raise Declined("the selected columns do not single out one table")
    return common.pop()


def negates(query: Query) -> bool:
    """Whether `query` keeps the rows without a value ("not in Leeds")."""
    return any(f.op in {"!=", "NOT IN"} for f in query.filters)


def render(query: Query, lex: Lexicon, unknown_is_other: bool = True) -> str:
    """The SQL of `query` (SQLite spelling, identifiers quoted). "The highest" and "the
    most common" keep every tied row: a LIMIT 1 would pick one of them at random. A
    negation keeps the rows whose value is unknown unless `unknown_is_other` is False."""
    _check_shape(query)
    resolver = _Resolver(query, lex, unknown_is_other)
    _render(query, resolver)  # settles the join, so that the second pass qualifies every name
    return _render(query, resolver)


def _render(query: Query, resolver: _Resolver) -> str:
    select = [_select(s, resolver) for s in sorted(query.select, key=lambda s: s.pos)]
    where = [_condition(f, resolver) for f in query.filters]
    _one_equality_per_column(query, resolver)
    _check_selection(query, resolver)
    group = resolver.name(resolver.column(query.group)) if query.group else ""
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
        where.append(f"{group} IS NOT NULL")
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


def _check_selection(query: Query, resolver: _Resolver) -> None:
    """Decline what the query would answer differently from the question: a yes/no column
    listed ("the smokers"), a column taken from a table the question does not name, a
    negation or comparison across an inner join (rows without a match vanish), an extreme
    of the joined table's rows, "the highest rank", a value filter on a table that refers to
    itself ("the manager of Bob")."""
    plain = [resolver.column(s.columns) for s in query.select if not s.func and s.columns]
    if any(ref.flag for ref in plain):
        raise Declined("a yes/no column is a condition, not a thing to list")
    selected = [resolver.column(s.columns) for s in query.select if s.columns]
    if any(r.table == resolver.joined for r in selected) and resolver.joined not in query.others:
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


def _one_equality_per_column(query: Query, resolver: _Resolver) -> None:
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
    if query.group and len(plain) > 1:
        raise Declined("a grouped query selecting other columns")
    if query.mode and functions:
        raise Declined("the most common value with an aggregate")
    if query.distinct and functions:
        raise Declined("distinct with an aggregate")


def _select(item: _Select, resolver: _Resolver) -> str:
    if item.func == "COUNT":
        if not item.columns:
            return "COUNT(*)"
        return f"COUNT(DISTINCT {resolver.name(resolver.column(item.columns))})"
    ref = resolver.column(item.columns)
    if item.func and not ref.numeric:
        raise Declined(f"{item.func} of a text column")
    return f"{item.func}({resolver.value(ref)})" if item.func else resolver.name(ref)


def _condition(item: _Filter, resolver: _Resolver) -> str:
    _one_reading(item, resolver)
    ref = resolver.column(item.columns, item.implied)
    name = resolver.name(ref)
    if (
        item.op == "="
        and ref.dated
        and len(item.operands) == 1
        and _YEAR.fullmatch(item.operands[0])
    ):
        return _date_condition(name, ref, _Filter(item.columns, "BETWEEN", item.operands * 2))
    if item.op in _EQUALITY:
        if ref.numeric != all(_is_number(o) for o in item.operands):
            raise Declined("a number compared with a text column, or text with a number")
        bare = ref.numeric and not ref.whole
        if item.op in {"IN", "NOT IN"}:
            listed = ", ".join(_literal(o, bare) for o in item.operands)
            test = f"{name} {item.op} ({listed})"
        else:
            test = f"{name} {item.op} {_literal(item.operands[0], bare)}"
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


def _one_reading(item: _Filter, resolver: _Resolver) -> None:
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


def _date_condition(name: str, ref: ColumnRef, item: _Filter) -> str:
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
