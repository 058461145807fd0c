"""The query the rule-based writer assembles from a question, before its columns are
placed in tables (`_resolver`) and it is written as SQL (`_render`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trifecta.errors import TrifectaError
from trifecta.specialists.sql._lexicon import ColumnRef

__all__ = ["Declined", "Filter", "Query", "Refs", "Selected", "negates"]

Refs = tuple[ColumnRef, ...]


class Declined(TrifectaError, ValueError):
    """The rules do not explain the question as one query."""


@dataclass
class Filter:
    """``column op operands`` (the column among candidates, or implied by a word)."""

    columns: Refs
    op: str
    operands: tuple[str, ...]
    implied: str = ""


@dataclass
class Selected:
    """One selected column or aggregate, at its place in the question."""

    pos: int
    columns: Refs
    func: str = ""  # "", AVG, MAX, MIN, SUM, COUNT
    distinct: bool = False


@dataclass
class Query:
    """What the question asks, before its columns are resolved to tables."""

    table: str = ""
    others: list[str] = field(default_factory=list)
    select: list[Selected] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    order: tuple[Refs, str, str] | None = None  # columns, direction, implied word
    limit: int | None = None
    group: Refs = ()
    mode: str = ""  # DESC: the most common value; ASC: the least common
    distinct: bool = False
    count_filter: tuple[str, str] | None = None  # "with at least 2 <rows>": (op, n)
    count_extreme: str = ""  # "which X has the most <rows>": DESC, or ASC for the fewest
    per: str = ""
    """The table whose rows are the groups ("the number of concerts in each stadium"):
    the main table's rows are counted per row of it, along the main table's foreign key."""

    def add_filter(
        self, columns: Refs, op: str, operands: tuple[str, ...], implied: str = ""
    ) -> None:
        """``column op operand`` (two operands for BETWEEN)."""
        self.filters.append(Filter(columns, op, operands, implied))

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

    def group_counts(self) -> None:
        """Group for a count filter ("hometowns shared by at least two teachers") or a
        count extreme ("which year has the most concerts"): per row of the one other
        table the question names ("stadiums with more than 2 concerts"), else by the one
        plain selected column."""
        if self.count_filter is None and not self.count_extreme:
            return
        if self.count_filter is not None and self.count_extreme:
            raise Declined("a count compared and a count extreme in one question")
        if len(self.others) == 1 and not self.per:
            self.per = self.others[0]
        elif not self.per:
            plain = [s for s in self.select if not s.func]
            if len(plain) != 1 or len(self.select) != 1 or self.group:
                raise Declined("a count per group needs exactly one thing to group by")
            self.group = plain[0].columns
        self.mode = self.count_extreme

    def set_group(self, columns: Refs, pos: int, first: bool = False) -> None:
        """Group by a column, which is also selected (first when the question opened
        with "how many")."""
        if self.group:
            raise Declined("two groupings")
        self.group = columns
        self.select.append(Selected(-1 if first else pos, columns))

    def add_aggregate(self, func: str, columns: Refs, pos: int) -> None:
        """``func(column)`` in the select list."""
        self.select.append(Selected(pos, columns, func))

    def add_count(self, columns: Refs, pos: int) -> None:
        """``COUNT(*)``, or ``COUNT(DISTINCT column)`` when columns are given."""
        self.select.append(Selected(pos, columns, "COUNT", distinct=bool(columns)))

    def add_column(self, columns: Refs, pos: int) -> None:
        """A plain selected column; the grouped column named again is selected once, where
        first named ("all countries and the number of singers in each country")."""
        grouped = [s for s in self.select if not s.func and s.columns == self.group]
        if self.group and grouped and set(columns) & set(self.group):
            grouped[0].pos = min(grouped[0].pos, pos)
            return
        self.select.append(Selected(pos, columns))


def negates(query: Query) -> bool:
    """Whether `query` keeps the rows without a value ("not in Leeds")."""
    return any(f.op in {"!=", "NOT IN"} for f in query.filters)
