"""Schema linking for the rule-based writer: which words of a question name a table, a
column or a stored value of the connected database.

Names are split into words (``Song_release_year``, ``petType``, ``FullName``) and
stemmed lightly (``countries`` → ``country``, ``people`` → ``person``); a column is also
named without the words it shares with its table (``Document_Name`` of ``Documents`` is
"name"), and a table without the word that says its kind (``cars_data`` is "cars").
Stored values come from the database itself: the distinct values of each text column
with few enough of them (``France``, ``dog``, ``PPT``), read once per database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from trifecta.specialists.sql._schema import Column, Schema, Table

__all__ = ["ColumnRef", "Lexicon", "ValueRef", "lexicon", "stem", "stem_words", "words"]

_IRREGULAR = {"people": "person", "men": "man", "women": "woman", "children": "child"}
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD = re.compile(r"[a-z0-9]+")
_NUMERIC = ("INT", "REAL", "NUM", "DEC", "FLOA", "DOUB", "BIGINT", "SMALLINT")
_MAX_VALUE_WORDS = 6
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_NUMBER_TEXT = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
_YEAR_TEXT = re.compile(r"1[89]\d\d|2[01]\d\d")
_NONE_WORDS = frozenset({"", "null", "none", "n/a", "na", "nan", "-"})
_WHOLE = re.compile(r"0|-?[1-9]\d{0,17}")
_FLAG_VALUES = frozenset({"yes", "no", "y", "n", "true", "false", "t", "f", "0", "1"})
_UNITS = frozenset(
    {"minute", "min", "hour", "day", "second", "sec", "usd", "eur", "gbp", "kg", "cm", "km", "pct"}
)
_FUNCTION_WORDS = frozenset(
    [
        "since",
        "to",
        "from",
        "at",
        "by",
        "in",
        "on",
        "of",
        "for",
        "with",
        "before",
        "after",
        "until",
        "per",
        "and",
        "or",
        "not",
        "the",
        "a",
        "an",
    ]
)  # member_since of members is not "since"
_LATIN_US = ("tuses", "puses", "buses", "nuses", "ruses")  # statuses, campuses, bonuses
_TABLE_PREFIXES = frozenset({"ref", "tbl", "tb", "lu", "dim", "fact", "lookup"})
_TABLE_SUFFIXES = frozenset({"data", "list", "info", "information", "detail", "record", "table"})
"""Words that name a table's kind, not its rows: ``cars_data`` holds cars."""


def stem(word: str) -> str:
    """A light singular: ``countries`` → ``country``, ``classes`` → ``class``."""
    word = word.lower()
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes", *_LATIN_US)):
        return word[:-2]
    if len(word) > 2 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> tuple[str, ...]:
    """The lower-case words of a name or value (camelCase and underscores split)."""
    return tuple(_WORD.findall(_CAMEL.sub(" ", text).replace("_", " ").lower()))


_ABBREVIATIONS = {
    "fname": ("first", "name"), "lname": ("last", "name"), "dob": ("date", "of", "birth"),
    "qty": ("quantity",), "amt": ("amount",), "dept": ("department",), "num": ("number",),
    "yr": ("year",), "addr": ("address",), "desc": ("description",), "no": ("number",),
    "nr": ("number",),
}  # fmt: skip


def stem_words(text: str) -> tuple[str, ...]:
    """The stemmed words of a name (abbreviations spelled out): ``People_ID`` is
    ("person", "id")."""
    return tuple(s for w in words(text) for s in _ABBREVIATIONS.get(w, (stem(w),)))


@dataclass(frozen=True)
class ColumnRef:
    """One column of one table, with the stemmed word sequences that name it."""

    table: str
    column: str
    numeric: bool
    names: tuple[tuple[str, ...], ...]
    dated: bool = False
    """A date or timestamp (declared so, or every stored value starts YYYY-MM-DD)."""
    textual: bool = False
    """Text that orders alphabetically (no value of it reads as a number)."""
    flag: bool = False
    """A yes/no column: a predicate ("smokers"), never a thing to list."""
    key: bool = False
    """A primary or foreign key: an identifier, never a quantity to compare."""
    measured: bool = False
    """Text that stores numbers, none of them a year (``'130'``, ``'15.5'``, ``'null'``):
    never a date, though not compared as a number either."""
    whole: bool = False
    """Text whose every stored value is a whole number (``'32'``): numeric for the
    writer, compared and ordered as a number, and equal to a quoted literal."""


@dataclass(frozen=True)
class ValueRef:
    """A stored value of a text column."""

    table: str
    column: str
    value: str


@dataclass
class Lexicon:
    """The names and values of one database, indexed by word sequence."""

    schema: Schema
    tables: dict[tuple[str, ...], str] = field(default_factory=dict)
    columns: dict[tuple[str, ...], list[ColumnRef]] = field(default_factory=dict)
    values: dict[tuple[str, ...], list[ValueRef]] = field(default_factory=dict)
    aliases: dict[tuple[str, ...], str] = field(default_factory=dict)
    """Tables by the last word of their name, used only where no column has that name."""

    def column(self, table: str, name: str) -> ColumnRef | None:
        """The reference to `table`.`name`, if it exists."""
        for refs in self.columns.values():
            for ref in refs:
                if ref.table == table and ref.column.lower() == name.lower():
                    return ref
        return None

    def one_key(self, columns: set[tuple[str, str]]) -> bool:
        """Whether `columns` ((table, column) pairs) are one column and its copies, linked
        by foreign keys (``Templates.type_code`` and ``Ref_Types.type_code``)."""
        wanted = {(t.lower(), c.lower()) for t, c in columns}
        edges = {
            frozenset(
                {(t.name.lower(), fk.column.lower()), (fk.table.lower(), fk.ref_column.lower())}
            )
            for t in self.schema.tables.values()
            for fk in t.foreign_keys
        }
        reached = {min(wanted)}
        while grown := {c for c in wanted - reached for r in reached if frozenset({c, r}) in edges}:
            reached |= grown
        return reached == wanted

    def link(self, first: str, second: str) -> tuple[str, str] | None:
        """The columns joining two tables along one foreign key (either direction), or
        None when there is none or more than one."""
        pairs = [
            (fk.column, fk.ref_column)
            for fk in self.schema.tables[first].foreign_keys
            if fk.table.lower() == second.lower()
        ] + [
            (fk.ref_column, fk.column)
            for fk in self.schema.tables[second].foreign_keys
            if fk.table.lower() == first.lower()
        ]
        return pairs[0] if len(set(pairs)) == 1 else None


def _column_names(table: str, column: str) -> tuple[tuple[str, ...], ...]:
    """The column's words, and without the words its table's name already says
    (``Document_Name`` of ``Documents`` is also "name")."""
    full = stem_words(column)
    if len(full) > 1 and full[-1] in _UNITS:  # duration_minutes: "duration"
        full = full[:-1]
    own_words = stem_words(table)
    own = set(own_words)
    names = {full, tuple(w for w in full if w not in own)}
    names |= {(*own_words[-1:], *n) for n in list(names) if n and n[0] not in own}
    for cut in range(1, len(full)):  # Template_Type_Code of Ref_Template_Types: "type code"
        if full[cut - 1] not in own:
            break
        names.add(full[cut:])
    return tuple(sorted(n for n in names if n and not (len(n) == 1 and n[0] in _FUNCTION_WORDS)))


def _column_ref(
    table: Table, col: Column, values: Callable[[str, str], Iterable[str]] | None
) -> tuple[ColumnRef, tuple[str, ...]]:
    """The column's reference, and its stored values when it is text."""
    kind = col.type.upper()
    numeric = kind.startswith(_NUMERIC)
    stored = tuple(values(table.name, col.name)) if values is not None and not numeric else ()
    whole = bool(stored) and all(_WHOLE.fullmatch(v) for v in stored)
    seen = stored or col.samples
    declared = "DATE" in kind or "TIME" in kind
    iso = bool(seen) and all(_ISO_DATE.match(v) for v in seen)
    dated = iso or (declared and not seen)  # '20/08/2021' or epoch seconds are no ISO dates
    ref = ColumnRef(
        table.name,
        col.name,
        numeric or whole,
        _column_names(table.name, col.name),
        dated=dated and not numeric,
        textual=not numeric
        and not declared
        and not any(_NUMBER_TEXT.match(v.strip()) for v in seen),
        flag=bool(seen) and {v.strip().lower() for v in seen} <= _FLAG_VALUES,
        key=col.primary_key
        or any(fk.column.lower() == col.name.lower() for fk in table.foreign_keys),
        whole=whole,
        measured=not numeric and _measured(seen),
    )
    return ref, stored


def _measured(seen: Iterable[str]) -> bool:
    """Whether `seen` are numbers (or a word for none), none of them a year."""
    present = [v.strip() for v in seen if v.strip().lower() not in _NONE_WORDS]
    return bool(present) and all(
        _NUMBER_TEXT.fullmatch(v) and not _YEAR_TEXT.fullmatch(v) for v in present
    )


def lexicon(schema: Schema, values: Callable[[str, str], Iterable[str]] | None = None) -> Lexicon:
    """Index a schema's names, and through `values(table, column)` its text columns'
    stored values (none when `values` is None)."""
    lex = Lexicon(schema)
    for table in schema.tables.values():
        key = stem_words(table.name)
        lex.tables.setdefault(key, table.name)
        if len(key) > 1 and key[0] in _TABLE_PREFIXES:  # Ref_Template_Types: "template type"
            lex.tables.setdefault(key[1:], table.name)
        if len(key) > 1 and key[-1] in _TABLE_SUFFIXES:  # cars_data: "cars"
            lex.aliases.setdefault(key[:-1], table.name)
    last_words: dict[tuple[str, ...], list[str]] = {}
    for key, name in lex.tables.items():
        if len(key) > 1:
            last_words.setdefault(key[-1:], []).append(name)
    for key, owners in last_words.items():  # "player" for poker_player, when only it ends so
        if len(set(owners)) == 1 and key not in lex.tables:
            lex.aliases[key] = owners[0]
    for table in schema.tables.values():
        for col in table.columns:
            ref, stored = _column_ref(table, col, values)
            for column_name in ref.names:
                lex.columns.setdefault(column_name, []).append(ref)
            for value in stored:
                key = words(value)
                if 0 < len(key) <= _MAX_VALUE_WORDS and not all(w.isdigit() for w in key):
                    lex.values.setdefault(key, []).append(ValueRef(table.name, col.name, value))
    return lex
