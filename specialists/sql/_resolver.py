"""Where the rule-based writer's columns live: the main table (the one the question
names, or the one holding every selected column) or the one table joined to it along a
foreign key; anything else declines.
"""

from __future__ import annotations

from trifecta.specialists.sql._lexicon import ColumnRef, Lexicon
from trifecta.specialists.sql._query import Declined, Query, Refs

__all__ = ["Resolver", "literal", "quote"]

_MONEY_WORDS = frozenset({"amount", "price", "cost", "fee", "total", "revenue", "paid", "value"})


def quote(name: str) -> str:
    """`name` as a quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str, numeric: bool) -> str:
    """`value` as an SQL literal: bare when numeric, else quoted."""
    if numeric:
        return value
    return "'" + value.replace("'", "''") + "'"


class Resolver:
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
        unread = [
            r
            for r in self._own()
            if not (r.numeric or r.textual or r.dated or r.flag or r.measured)
        ]
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
            return quote(ref.column)
        return f"{'T1' if ref.table == self.main else 'T2'}.{quote(ref.column)}"

    def fans_out(self) -> bool:
        """Whether the join repeats rows of the main table (the joined table refers to
        it: one patient, many appointments)."""
        main = self.lex.schema.tables[self.main]
        return bool(self.joined) and not any(
            fk.table.lower() == self.joined.lower() for fk in main.foreign_keys
        )

    def source(self) -> str:
        if not self.joined:
            return quote(self.main)
        link = self.lex.link(self.main, self.joined)
        assert link is not None
        return (
            f"{quote(self.main)} AS T1 JOIN {quote(self.joined)} AS T2 "
            f"ON T1.{quote(link[0])} = T2.{quote(link[1])}"
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
