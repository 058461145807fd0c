"""Grading one answer against a question's expectation, deterministically."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from trifecta.evaluation._suites import Question
from trifecta.verdict import SubtaskRow

__all__ = ["grade"]


def _text(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def _math_equal(got: str, expected: str) -> bool:
    from trifecta.specialists.math import check_math

    if not got.strip() or not str(expected).strip():
        return False
    claim = {"kind": "equal", "expr": got, "answer": str(expected)}
    return next(iter(check_math([claim]))).status == "verified"


@lru_cache(maxsize=64)
def _database(url: str) -> Any:
    from trifecta.specialists.sql import connect

    return connect(url)


def _sql_equal(data: dict[str, Any], gold: str, db: str | None) -> bool:
    from trifecta.specialists.sql import run_checked, same_rows

    if not db or "rows" not in data:
        return False
    outcome = run_checked(_database(db), gold, max_rows=100_000, timeout=30.0)
    return outcome.status == "checked" and same_rows(data, outcome.data)


def _cites(data: dict[str, Any], expected: Any) -> bool:
    relevant = {PurePath(str(name)).name for name in expected or []}
    return any(PurePath(str(s)).name in relevant for s in data.get("sources", []))


def _one(question: Question, answer: str, data: dict[str, Any]) -> bool:
    match, expected = question.match, question.expected
    if match == "sql":
        return _sql_equal(data, str(expected), question.db)
    if match == "sources":
        return _cites(data, expected)
    if match == "exact":
        return _text(answer) == _text(expected)
    if match == "contains":
        return _text(expected) in _text(answer)
    if match == "math":
        return _math_equal(answer, str(expected))
    return _math_equal(answer, str(expected)) or _text(expected) in _text(answer)


def grade(question: Question, subtasks: Sequence[SubtaskRow], answer: str) -> bool:
    """Whether a run answered `question`: any subtask's answer (a question sent to one
    specialist has one), or for a whole-graph run also the merged answer."""
    candidates = [(s["answer"], s["data"]) for s in subtasks]
    if question.specialist is None:
        candidates.append((answer, {}))
    return any(_one(question, text, data) for text, data in candidates)
