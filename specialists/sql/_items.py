"""Read a question into items: each run of words becomes the longest thing it can name —
a table or column, a stored value, a number, or one of the writer's phrases.

A word nothing explains stops the reading (`Unexplained`): the writer then declines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from trifecta.specialists.sql import _phrases as ph
from trifecta.specialists.sql._lexicon import ColumnRef, Lexicon, ValueRef, stem, words
from trifecta.specialists.sql._query import Declined

__all__ = ["Item", "Unexplained", "just_before", "next_of", "prev_of", "read"]

_QUOTED = r"\"([^\"]+)\"|``\s*(.+?)\s*''|‘([^’]+)’|“([^”]+)”|(?<![a-z])'([^']+)'"
_TOKEN = re.compile(rf"{_QUOTED}|((?<![\w.])-?\d+(?:\.\d+)?)|([a-z][a-z0-9]*|,)", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?<=[a-z])'s\b|(?<=s)'(?=\s)", re.IGNORECASE)
_MAX_PHRASE = 6
_WORDS_FIRST = frozenset({"agg", "sup", "count"})
_AGGREGATE_WORDS = frozenset({*ph.AGGREGATES, *ph.SUPERLATIVES})

_TABLES: list[tuple[str, dict[tuple[str, ...], Any]]] = [
    ("count", dict.fromkeys(ph.COUNTING, True)),
    ("mode", dict.fromkeys(ph.MODE, True)),
    ("distinct", dict.fromkeys(ph.DISTINCT, True)),
    ("each", dict.fromkeys(ph.EACH, True)),
    ("order", ph.ORDERINGS),
    ("dir", ph.DIRECTIONS),
    ("icmp", ph.IMPLIED_COMPARISONS),
    ("isup", ph.IMPLIED_SUPERLATIVES),
    ("cmp", ph.COMPARISONS),
    ("agg", ph.AGGREGATES),
    ("sup", ph.SUPERLATIVES),
    ("and", dict.fromkeys(ph.CONNECTORS, True)),
    ("not", dict.fromkeys(ph.NEGATIONS, True)),
    ("or", dict.fromkeys(ph.ALTERNATIVES, True)),
    ("money", dict.fromkeys(ph.MONEY, True)),
    ("named", dict.fromkeys(ph.NAMING, True)),
    ("rel", dict.fromkeys(ph.RELATIONS, True)),
    ("event", dict.fromkeys(ph.EVENTS, True)),
    ("filler", dict.fromkeys(ph.FILLER, True)),
]


class Unexplained(Declined):
    """A word of the question that names nothing the writer knows."""


@dataclass
class Item:
    """One reading of a run of words; `used` marks it consumed by a rule."""

    kind: str
    pos: int
    text: str
    data: Any = None
    tables: tuple[str, ...] = ()
    columns: tuple[ColumnRef, ...] = ()
    values: tuple[ValueRef, ...] = ()
    used: bool = field(default=False, compare=False)


def _tokens(question: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: ``q`` quoted, ``n`` number, ``w`` word (lower case)."""
    out: list[tuple[str, str]] = []
    text = _POSSESSIVE.sub("", question)
    for match in _TOKEN.finditer(text):
        quoted = next((g for g in match.groups()[:5] if g), None)
        if quoted is not None:
            out.append(("q", quoted.strip()))
        elif match.group(6):
            out.append(("n", match.group(6)))
        else:
            word = match.group(7).lower()
            number = ph.NUMBER_WORDS.get(word)
            out.append(("n", number) if number else ("w", word))
    return out


def read(question: str, lex: Lexicon) -> list[Item]:
    """The items of `question`, left to right; raises `Unexplained` at a word no table,
    column, stored value or phrase explains, and at a quoted text no column stores."""
    tokens = _tokens(question)
    items: list[Item] = []
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "q":
            found = lex.values.get(words(text), [])
            if not found:
                raise Unexplained(f"no column stores {text!r}")
            items.append(Item("value", i, text, data="quoted", values=tuple(found)))
            i += 1
        elif kind == "n":
            items.append(Item("num", i, text, data=text))
            i += 1
        else:
            item, length = _longest(tokens, i, lex)
            items.append(item)
            i += length
    return items


def _run(tokens: list[tuple[str, str]], start: int, length: int) -> tuple[str, ...] | None:
    chunk = tokens[start : start + length]
    if len(chunk) < length or any(k != "w" and k != "n" for k, _ in chunk):
        return None
    if any(k == "n" for k, _ in chunk[:1]):
        return None
    return tuple(t for _, t in chunk)


def _longest(tokens: list[tuple[str, str]], start: int, lex: Lexicon) -> tuple[Item, int]:
    for length in range(min(_MAX_PHRASE, len(tokens) - start), 0, -1):
        run = _run(tokens, start, length)
        if run is None:
            continue
        item = _schema(run, start, lex) or _phrase(run, start) or _value(run, start, lex)
        phrase = _phrase(run, start)
        if phrase is not None and run in lex.values:  # "live", "in", "Data": a word or a value?
            raise Unexplained(f"{' '.join(run)!r} is a word of the grammar and a stored value")
        if (
            item is not None
            and item.kind == "schema"
            and len(run) > 1
            and (run[0],) in _AGGREGATE_WORDS
        ):
            raise Unexplained(f"{' '.join(run)!r}: an aggregate of a column, or a column's name")
        if item is not None and item.kind == "schema" and phrase and phrase.kind in _WORDS_FIRST:
            phrase.columns = item.columns  # "average": AVG, or the column "Average"
            item = phrase
        if item is not None:
            return item, length
    raise Unexplained(f"nothing in the schema or the grammar explains {tokens[start][1]!r}")


def _schema(run: tuple[str, ...], pos: int, lex: Lexicon) -> Item | None:
    stems = tuple(stem(w) for w in run)
    columns = tuple(lex.columns.get(stems, ()))
    table = lex.tables.get(stems) or (None if columns else lex.aliases.get(stems))
    if (table or columns) and run in lex.values:
        raise Unexplained(f"{' '.join(run)!r} names a table or column and is also a stored value")
    if table is None and not columns:
        return None
    tables = (table,) if table else ()
    return Item("schema", pos, " ".join(run), tables=tables, columns=columns)


def _phrase(run: tuple[str, ...], pos: int) -> Item | None:
    for kind, table in _TABLES:
        if run in table:
            return Item(kind, pos, " ".join(run), data=table[run])
    return None


def _value(run: tuple[str, ...], pos: int, lex: Lexicon) -> Item | None:
    found = lex.values.get(run)
    return Item("value", pos, " ".join(run), values=tuple(found)) if found else None


def just_before(items: list[Item], item: Item) -> Item | None:
    """The item just before `item` in the question (fillers included)."""
    index = items.index(item)
    return items[index - 1] if index > 0 else None


def next_of(body: list[Item], item: Item, kind: str | None = None) -> Item | None:
    """The item after `item` in `body`, if it is of `kind` (any kind when None)."""
    index = body.index(item)
    following = body[index + 1] if index + 1 < len(body) else None
    return following if following is not None and (kind is None or following.kind == kind) else None


def prev_of(body: list[Item], item: Item, kind: str | None = None) -> Item | None:
    """The item before `item` in `body`, if it is of `kind` (any kind when None)."""
    index = body.index(item)
    previous = body[index - 1] if index > 0 else None
    return previous if previous is not None and (kind is None or previous.kind == kind) else None
