"""Tier 0: a rule-based SQL writer for simple questions (counts, aggregates, filters)."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["SQL_WORDS", "write_sql"]

Schema = Mapping[str, Mapping[str, str]]

SQL_WORDS = re.compile(
    r"\b(how many|number of|count|total|sum|average|avg|mean|maximum|minimum|highest|lowest"
    r"|largest|smallest|list|top \d+)\b",
    re.IGNORECASE,
)
_COMPARE = re.compile(
    r"\b(?P<op>over|above|more than|greater than|exceeding|at least|under|below|less than|at most)"
    r"\s+\$?(?P<num>-?\d+(?:\.\d+)?)\s*(?P<unit>dollars|usd|\$|units|items|days)?",
    re.IGNORECASE,
)
_OPS = {
    "over": ">", "above": ">", "more than": ">", "greater than": ">", "exceeding": ">",
    "at least": ">=", "under": "<", "below": "<", "less than": "<", "at most": "<=",
}  # fmt: skip
_AGGREGATES = [
    (re.compile(r"\b(total|sum)\b", re.I), "SUM"),
    (re.compile(r"\b(average|avg|mean)\b", re.I), "AVG"),
    (re.compile(r"\b(maximum|max|highest|largest)\b", re.I), "MAX"),
    (re.compile(r"\b(minimum|min|lowest|smallest)\b", re.I), "MIN"),
]
_MONEY = re.compile(r"amount|total|price|cost|value|revenue|paid", re.I)
_NUMERIC = ("INT", "REAL", "NUM", "DEC", "FLOA", "DOUB")


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z_]+", text)}


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def find_table(question: str, schema: Schema) -> str | None:
    """The table named in the question (singular or plural), if exactly one fits best."""
    words = {_singular(w) for w in _words(question)}
    hits = [t for t in schema if _singular(t.lower()) in words or t.lower() in words]
    return max(hits, key=len) if hits else None


def _numeric_columns(columns: Mapping[str, str]) -> list[str]:
    return [
        c for c, t in columns.items() if t.startswith(_NUMERIC) and not c.lower().endswith("id")
    ]


def _value_column(question: str, columns: Mapping[str, str], money: bool) -> str | None:
    numeric = _numeric_columns(columns)
    named = [
        c
        for c in numeric
        if c.lower() in _words(question) or c.lower().rstrip("s") in _words(question)
    ]
    if named:
        return named[0]
    priced = [c for c in numeric if _MONEY.search(c)]
    if money and priced:
        return priced[0]
    return numeric[0] if len(numeric) == 1 else (priced[0] if priced else None)


def write_sql(question: str, schema: Schema) -> str | None:
    """SQL for a simple question, or None when the rules do not cover it."""
    table = find_table(question, schema)
    if table is None:
        return None
    columns = schema[table]
    where = _where(question, columns)
    if where is None:
        return None
    aggregate = _aggregate(question, columns)
    if aggregate is None:
        return None
    return f'SELECT {aggregate} FROM "{table}"{where}'


def _where(question: str, columns: Mapping[str, str]) -> str | None:
    match = _COMPARE.search(question)
    if match is None:
        return ""
    money = bool(match.group("unit")) and match.group("unit").lower() in {"dollars", "usd", "$"}
    column = _value_column(question, columns, money or "$" in question)
    if column is None:
        return None
    return f' WHERE "{column}" {_OPS[match.group("op").lower()]} {match.group("num")}'


def _aggregate(question: str, columns: Mapping[str, str]) -> str | None:
    if re.search(r"\b(how many|number of|count)\b", question, re.I):
        return "COUNT(*)"
    for pattern, func in _AGGREGATES:
        if pattern.search(question):
            column = _value_column(_COMPARE.sub("", question), columns, money=True)
            return f'{func}("{column}")' if column else None
    return None
