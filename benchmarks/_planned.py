"""Tier 0 measured through the planner: each Spider question asked the way `trifecta run`
answers it offline (`Trifecta(default_specialists(db=...)).arun(question)`), scored on
the subtasks that came back `checked` or `verified`."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _spider import run_sqlite, same_result, sqlite_path

from trifecta import Trifecta
from trifecta.specialists import default_specialists

__all__ = ["Outcome", "planned_rows", "score"]

ACCEPTED = ("checked", "verified")


@dataclass(frozen=True)
class Outcome:
    """One question through the planner: how many subtasks its plan had (distinct
    instructions; a re-plan of the same instruction is not a new one), whether any
    subtask was accepted, and whether every accepted one returned gold's rows."""

    subtasks: int
    answered: bool
    correct: bool


def score(subtasks: list[dict[str, Any]], gold_sql: str, expected: list[Any]) -> Outcome:
    """Score a run's subtasks against gold: an accepted subtask is right only when it is
    a SQL result with gold's rows (an accepted answer from another specialist is wrong)."""
    accepted = [s for s in subtasks if s["status"] in ACCEPTED]
    right = [
        s["specialist"] == "sql" and same_result(gold_sql, expected, s["data"].get("rows", []))
        for s in accepted
    ]
    instructions = {s["instruction"] for s in subtasks}
    return Outcome(len(instructions), bool(accepted), bool(accepted) and all(right))


async def _ask(question: str, db: str) -> list[dict[str, Any]]:
    result = await Trifecta(default_specialists(db=db)).arun(question)
    return result.subtasks


def _run(items: list[dict[str, Any]], data: Path) -> list[Outcome]:
    outcomes = []
    for q in items:
        path = sqlite_path(data, q["db_id"])
        subtasks = asyncio.run(_ask(q["question"], f"sqlite:///{path}"))
        expected = run_sqlite(path, q["gold_sql"])
        outcomes.append(score(subtasks, q["gold_sql"], expected))
    return outcomes


def planned_rows(items: list[dict[str, Any]], data: Path) -> list[tuple[str, str, str]]:
    """Coverage, accuracy and wrong accepted answers through the planner."""
    outcomes = _run(items, data)
    n = len(items)
    answered = [o for o in outcomes if o.answered]
    wrong = Counter("split" if o.subtasks > 1 else "one subtask" for o in answered if not o.correct)
    split = sum(o.subtasks > 1 for o in outcomes)
    return [
        (
            "through the planner: questions answered",
            _pct(len(answered), n),
            "Trifecta.arun, offline",
        ),
        (
            "through the planner: execution accuracy",
            _pct(sum(o.correct for o in answered), n),
            f"{_pct(sum(o.correct for o in answered), len(answered))} of those it answers",
        ),
        (
            "through the planner: wrong checked/verified answers",
            str(len(answered) - sum(o.correct for o in answered)),
            f"from a split request: {wrong['split']} (target 0); one subtask: {wrong['one subtask']}",
        ),
        ("through the planner: questions split into several subtasks", _pct(split, n), ""),
    ]


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}% ({part}/{whole})" if whole else "n/a"
