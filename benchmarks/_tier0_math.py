"""Math requests answered by tier 0 alone (no model): the hand-written set in
`tier0_math/`. Each request runs through the whole offline app (rule planner, routing,
SymPy tier 0, verification). A request is *covered* when it comes back with exactly one
verified subtask and nothing unanswered; it is *right* when that answer also equals the
expected one under the project's own math equivalence (`check_math`, kind ``equal``). A
covered answer that is not right is a wrong accept."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _table import Row

from trifecta import Trifecta
from trifecta.config import Config
from trifecta.result import RunResult
from trifecta.specialists.math import check_math

__all__ = ["math_rows"]

HERE = Path(__file__).parent / "tier0_math"


def _load(name: str = "requests.jsonl") -> list[dict[str, Any]]:
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _verified_answer(result: RunResult) -> str | None:
    """The one verified answer of a fully answered run, else None."""
    verified = [s for s in result.subtasks if s["status"] == "verified"]
    if not result.ok or len(verified) != 1:
        return None
    return str(verified[0]["answer"])


def _answers(requests: Sequence[dict[str, Any]]) -> list[str | None]:
    with tempfile.TemporaryDirectory() as tmp:
        app = Trifecta.from_config(Config(data_dir=Path(tmp)))
        return [_verified_answer(app.run(r["request"])) for r in requests]


def _rights(requests: Sequence[dict[str, Any]], answers: Sequence[str | None]) -> list[bool]:
    """Whether each answer equals the expected one (False when there is no answer)."""
    pairs = [(i, a) for i, a in enumerate(answers) if a is not None]
    claims = [{"kind": "equal", "expr": a, "answer": requests[i]["answer"]} for i, a in pairs]
    right = [False] * len(answers)
    for (index, _), verdict in zip(pairs, check_math(claims, timeout=10.0), strict=True):
        right[index] = verdict.status == "verified"
    return right


def _outcomes(*, verbose: bool) -> dict[str, list[str]]:
    """Per part, each request's outcome: ``right``, ``wrong`` or ``missed``. The second
    author's set was written by someone else for another grammar and never used to tune
    this one: all of it is unseen."""
    requests = _load()
    second = _load("second_author.jsonl")
    answers = _answers([*requests, *second])
    rights = _rights([*requests, *second], answers)
    by_part: dict[str, list[str]] = {"tune": [], "held": [], "second author (unseen)": []}
    parts = ["held" if r["held"] else "tune" for r in requests] + ["second author (unseen)"] * len(
        second
    )
    for request, part, answer, right in zip(
        [*requests, *second], parts, answers, rights, strict=True
    ):
        outcome = "missed" if answer is None else "right" if right else "wrong"
        by_part[part].append(outcome)
        if verbose and part == "tune" and outcome != "right":
            print(request["id"], outcome, repr(request["request"]), answer, request["answer"])
    return by_part


def math_rows(*, verbose: bool = False) -> list[Row]:
    """Rows for the tier-0 table: coverage (answered and verified) and accuracy (right
    among covered) on the tune and held parts, and the wrong accepts."""
    rows: list[Row] = []
    for name, outcomes in _outcomes(verbose=verbose).items():
        covered = len(outcomes) - outcomes.count("missed")
        right = outcomes.count("right")
        rows += [
            (
                f"math {name}: coverage",
                f"{covered / len(outcomes):.1%}",
                f"{covered}/{len(outcomes)} verified (target >= 90% held)",
            ),
            (
                f"math {name}: accuracy",
                f"{right / covered:.1%}" if covered else "n/a",
                f"{right}/{covered} equal to the expected answer (target 100%)",
            ),
        ]
    return rows


if __name__ == "__main__":
    import sys

    from _table import print_table

    print_table(math_rows(verbose="-v" in sys.argv))
