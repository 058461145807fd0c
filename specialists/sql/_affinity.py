"""How much of a question the database explains: the SQL specialist's routing score.

Measured like the RAG specialist's (the share of the question's content words, as
`terms` writes them, that the source explains), so the rule planner sends a clause to
the source that holds its words: "How many electric bikes are there?" to a database with
a ``bikes`` table whose ``bike_type`` holds ``electric``; "How much is the deposit for an
electric bike?" to the documents that mention a deposit.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from trifecta.specialists._terms import terms
from trifecta.specialists.sql._schema import Schema

__all__ = ["schema_terms", "sql_affinity"]

_AGGREGATE_TEXT = (
    "many number count counted total sum average avg mean maximum max minimum min highest "
    "lowest largest smallest biggest most least fewest oldest newest youngest earliest latest "
    "cheapest dearest longest shortest list show each per every distinct different"
)
_AGGREGATES = frozenset(terms(_AGGREGATE_TEXT))
_COMPARED = re.compile(
    r"\b(?:over|above|under|below|more than|less than|greater than|fewer than|at least|at most"
    r"|before|after|since|between|and|exceeding|from|to|in)\s+\$?(\d[\d-]*(?:\.\d+)?)",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _name_words(name: str) -> str:
    return _CAMEL.sub(" ", name).replace("_", " ")


def schema_terms(schema: Schema) -> frozenset[str]:
    """The terms of every table and column name and of the sampled stored values (words
    only: a stored number says nothing about a number in a question)."""
    texts = [
        text
        for table in schema.tables.values()
        for text in (
            _name_words(table.name),
            *(_name_words(c.name) for c in table.columns),
            *(s for c in table.columns for s in c.samples),
        )
    ]
    return frozenset(t for text in texts for t in terms(text) if not t.isdigit())


def sql_affinity(clause: str, known: frozenset[str], writes: Callable[[str], bool]) -> float:
    """1.0 when the rule-based writer answers the clause; else the share of its terms the
    schema (names, sampled values), an aggregate word or a compared number explains,
    scaled to 0.95, plus 0.05 when it asks for a count, sum or list."""
    if writes(clause):
        return 1.0
    words = set(terms(clause))
    if not words:
        return 0.0
    numbers = {t for match in _COMPARED.finditer(clause) for t in terms(match.group(1))}
    explained = sum(w in known or w in _AGGREGATES or w in numbers for w in words)
    asks = bool(words & _AGGREGATES)
    return 0.95 * explained / len(words) + (0.05 if asks else 0.0)
