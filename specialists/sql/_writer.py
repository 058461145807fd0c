"""Tier 0: a rule-based SQL writer for simple questions.

It covers counts, sums, averages, minima and maxima with one numeric filter, and plain
listings of columns with an optional ORDER BY, over one table. It refuses (returns
None) whenever a content word of the whole instruction is not explained by the query it
would write: a wrong query that runs is worse than an honest "cannot". An instruction of
several sentences is covered only when every sentence after the first is an ordering
("… Sort by amount."); an imperative ("list", "show", "give me", "return") is explained
only as the opening word of the question, so "How many orders are there? List the orders
over 100 dollars." is declined, not answered as a count.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from trifecta.linear_re import LinearPattern

__all__ = ["SQL_WORDS", "find_table", "write_sql"]

Schema = Mapping[str, Mapping[str, str]]

SQL_WORDS = re.compile(
    r"\b(how many|number of|count|total|sum|average|avg|mean|maximum|minimum|highest|lowest"
    r"|largest|smallest|list|show|top \d+)\b",
    re.IGNORECASE,
)
_COMPARE = re.compile(
    r"\b(?P<op>over|above|more than|greater than|exceeding|at least|under|below|less than|at most)"
    r"\s+\$?(?P<num>-?\d+(?:\.\d+)?)\s*(?P<unit>dollars|usd|\$|units|items|days|years)?",
    re.IGNORECASE,
)
_OPS = {
    "over": ">", "above": ">", "more than": ">", "greater than": ">", "exceeding": ">",
    "at least": ">=", "under": "<", "below": "<", "less than": "<", "at most": "<=",
}  # fmt: skip
_AGGREGATES = [
    (re.compile(r"\b(total|sum)\b", re.I), "SUM"),
    (re.compile(r"\b(average|avg|mean)\b", re.I), "AVG"),
    (re.compile(r"\b(maximum|max|highest|largest|biggest)\b", re.I), "MAX"),
    (re.compile(r"\b(minimum|min|lowest|smallest)\b", re.I), "MIN"),
]
_ORDER = LinearPattern(  # meets user text: RE2, linear (Python's re was quadratic here)
    r"\b(?:(?:ordered|sorted|order|sort)\s+(?:(?P<dir1>descending|ascending)\s+)?by\s+(?P<col>[a-z_ ]+?)"
    r"|(?:sort(?:ed)?\s+)?in\s+(?P<dir2>ascending|descending)\s+order\s+of\s+(?P<col2>[a-z_ ]+?))"
    r"(?:\s+(?P<dir>from (?:the )?oldest to (?:the )?youngest|from (?:the )?youngest to (?:the )?oldest"
    r"|descending|desc|ascending|asc|in descending order|in ascending order))?$",
    ignore_case=True,
)
_MONEY = re.compile(r"amount|total|price|cost|value|revenue|paid", re.I)
_NUMERIC = ("INT", "REAL", "NUM", "DEC", "FLOA", "DOUB")
_FILLER_WORDS = (
    "a an the of in on for to is are was were be do does did we have has there what which how "
    "many number count counted all every total sum average avg mean maximum max minimum min "
    "highest lowest largest smallest biggest their its and with value values that whose records rows entries dollars usd units items days years"
)
_FILLER = frozenset(_FILLER_WORDS.split())
_OPENING = re.compile(
    r"^(?:please\s+)?(?:list|show(?:\s+me)?|give(?:\s+me)?|return|find|tell\s+me)\b", re.I
)
_SENTENCE_END = re.compile(r"(?<=[.?!;])\s+(?=\S)|\n+")
_ORDER_SENTENCE = re.compile(r"^(?:sort|order)(?:ed)?\s+(?:\w+\s+)?by\b[^.?!;]*$", re.I)
_GROUPING = re.compile(
    r"\b(each|per|every|different|distinct|unique|both|not|without|except|or)\b", re.I
)


def _words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z_]+|\d+(?:\.\d+)?", text)]


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _parts(name: str) -> set[str]:
    return {_singular(p) for p in _words(name.replace("_", " "))}


def find_table(question: str, schema: Schema) -> str | None:
    """The table named in the question (singular or plural), the longest if several."""
    words = {_singular(w) for w in _words(question)}
    hits = [t for t in schema if _parts(t) <= words or _singular(t.lower()) in words]
    return max(hits, key=len) if hits else None


def _named_columns(question: str, columns: Mapping[str, str], table: str = "") -> list[str]:
    """Columns every word of which the question uses, in the order it names them: where
    the first of its own words appears (the table's words, "document" in Document_ID of
    Documents, are left out of the position when the column has others)."""
    words = [_singular(w) for w in _words(question)]
    found = [
        (min(words.index(p) for p in (_parts(c) - _parts(table)) or _parts(c)), c)
        for c in columns
        if _parts(c) and _parts(c) <= set(words)
    ]
    return [c for _, c in sorted(found)]


def _numeric(columns: Mapping[str, str]) -> list[str]:
    return [
        c
        for c, t in columns.items()
        if t.upper().startswith(_NUMERIC) and not c.lower().endswith("id")
    ]


def _value_column(question: str, columns: Mapping[str, str], money: bool) -> str | None:
    named = [c for c in _named_columns(question, columns) if c in _numeric(columns)]
    if named:
        return named[0]
    priced = [c for c in _numeric(columns) if _MONEY.search(c)]
    if money and priced:
        return priced[0]
    numeric = _numeric(columns)
    return numeric[0] if len(numeric) == 1 else None


def _explained(question: str, table: str, used: list[str]) -> bool:
    """Whether every content word of the question (the comparison and ordering phrases
    already removed) is accounted for; a stray number is not."""
    known = _parts(table) | {w for c in used for w in _parts(c)}
    return all(word in _FILLER or _singular(word) in known for word in _words(question))


def _one_question(instruction: str) -> str | None:
    """The instruction as one question: its sentences joined when every sentence after
    the first is an ordering, else None (a sentence the writer would ignore)."""
    sentences = [s.strip().rstrip("?.!; ") for s in _SENTENCE_END.split(instruction.strip())]
    sentences = [s for s in sentences if s]
    if not sentences or not all(_ORDER_SENTENCE.match(s) for s in sentences[1:]):
        return None
    return " ".join(sentences)


def write_sql(question: str, schema: Schema) -> str | None:
    """SQL for a simple question, or None when the rules do not cover all of it."""
    text = _one_question(question)
    if text is None:
        return None
    table = find_table(text, schema)
    if table is None or _GROUPING.search(text):
        return None
    columns = schema[table]
    where, filtered = _where(text, columns)
    if where is None:
        return None
    rest = _COMPARE.sub(" ", text)
    order, ordered = _order_by(rest, columns)
    head = _ORDER.sub(" ", rest)
    aggregates = sum(bool(p.search(head)) for p, _ in _AGGREGATES)
    if order is None or aggregates > 1:
        return None
    counting = re.search(r"\b(how many|number of|count)\b", head, re.I)
    found = _aggregate(head, columns) if counting or aggregates else _listing(head, columns, table)
    if found is None or (order and "(" in found[0]):
        return None
    select, used = found
    if not _explained(_OPENING.sub(" ", head), table, used + filtered + ordered):
        return None
    return f'SELECT {select} FROM "{table}"{where}{order}'


def _where(question: str, columns: Mapping[str, str]) -> tuple[str | None, list[str]]:
    match = _COMPARE.search(question)
    if match is None:
        return "", []
    unit = (match.group("unit") or "").lower()
    column = _value_column(
        _COMPARE.sub(" ", question), columns, unit in {"dollars", "usd", "$"} or "$" in question
    )
    if column is None:
        return None, []
    return f' WHERE "{column}" {_OPS[match.group("op").lower()]} {match.group("num")}', [column]


def _aggregate(question: str, columns: Mapping[str, str]) -> tuple[str, list[str]] | None:
    if re.search(r"\b(how many|number of|count)\b", question, re.I):
        return "COUNT(*)", []
    for pattern, func in _AGGREGATES:
        if pattern.search(question):
            column = _value_column(question, columns, money=True)
            return (f'{func}("{column}")', [column]) if column else None
    return None


def _listing(question: str, columns: Mapping[str, str], table: str) -> tuple[str, list[str]] | None:
    named = _named_columns(question, columns, table)
    if not named or not re.match(r"^(list|show|give|return|what (?:is|are))\b", question, re.I):
        return None
    return ", ".join(f'"{c}"' for c in named), named


def _order_by(question: str, columns: Mapping[str, str]) -> tuple[str | None, list[str]]:
    match = _ORDER.search(question)
    if match is None:
        return "", []
    named = _named_columns(match.group("col") or match.group("col2") or "", columns)
    if len(named) != 1:
        return None, []
    direction = " ".join(filter(None, (match.group(k) for k in ("dir", "dir1", "dir2")))).lower()
    descending = "desc" in direction or "oldest to" in direction
    return f' ORDER BY "{named[0]}"{" DESC" if descending else ""}', named
