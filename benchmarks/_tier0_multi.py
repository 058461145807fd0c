"""Multi-part requests answered by tier 0 alone (no model): the library and bike-share
set in `tier0_multi/`. A part counts as answered when the subtask that ran its sentence
(the last one, after any re-plan) is verified or checked *and* its answer holds the
expected value; a verified part with a wrong answer is counted apart, as a false accept."""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sympy as sp
from _table import Row

from trifecta import Trifecta
from trifecta.config import Config
from trifecta.result import RunResult
from trifecta.verdict import ACCEPTED

__all__ = ["multi_rows", "score_request"]

HERE = Path(__file__).parent / "tier0_multi"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+)?")


def _database(domain: str, folder: Path) -> str:
    path = folder / f"{domain}.sqlite"
    if not path.exists():
        conn = sqlite3.connect(path)
        conn.executescript((HERE / f"{domain}.sql").read_text())
        conn.commit()
        conn.close()
    return f"sqlite:///{path}"


def _app(domain: str, folder: Path) -> Trifecta:
    config = Config(
        data_dir=folder, db=_database(domain, folder), docs=str(HERE / f"docs_{domain}")
    )
    return Trifecta.from_config(config)


def _numbers(text: str) -> list[float]:
    values = []
    for token in _NUMBER.findall(text.replace(",", "")):
        try:
            values.append(float(sp.Rational(token)))
        except (TypeError, ValueError):
            continue
    return values


def _has_value(answer: str, value: Any) -> bool:
    if isinstance(value, int | float):
        return any(
            abs(n - float(value)) <= 1e-6 * max(1.0, abs(float(value))) for n in _numbers(answer)
        )
    return str(value).lower() in answer.lower()


def _math_right(answer: str, expected: str) -> bool:
    try:
        if expected.startswith("["):
            return _numbers(answer) == _numbers(expected)
        got, want = sp.sympify(answer.replace("^", "**")), sp.sympify(expected)
        return bool(sp.simplify(got - want) == 0)
    except (sp.SympifyError, TypeError, SyntaxError, ValueError):
        return False


def _right(part: dict[str, Any], answer: str) -> bool:
    if part["kind"] == "math":
        return _math_right(answer, part["expect"])
    if part["kind"] == "rag":
        return part["expect"].lower() in answer.lower()
    return all(_has_value(answer, v) for row in part["rows"] for v in row)


def _row_for(part: dict[str, Any], result: RunResult) -> dict[str, Any] | None:
    text = part["text"].rstrip(" ?.!").lower()
    rows = [s for s in result.subtasks if text in s["instruction"].lower()]
    return dict(rows[-1]) if rows else None


def score_request(request: dict[str, Any], result: RunResult) -> list[str]:
    """Each part's outcome: ``right``, ``wrong`` (accepted but not the expected answer),
    or ``missed`` (not accepted, or no subtask ran it)."""
    outcomes = []
    for part in request["parts"]:
        row = _row_for(part, result)
        if row is None or row["status"] not in ACCEPTED:
            outcomes.append("missed")
        else:
            outcomes.append("right" if _right(part, str(row["answer"])) else "wrong")
    return outcomes


def _load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (HERE / "requests.jsonl").read_text().splitlines()]


def _run_all(requests: Sequence[dict[str, Any]], *, verbose: bool) -> dict[str, list[list[str]]]:
    by_part: dict[str, list[list[str]]] = {"tune": [], "held": []}
    with tempfile.TemporaryDirectory() as tmp:
        apps = {d: _app(d, Path(tmp)) for d in ("library", "bikes")}
        for request in requests:
            result = apps[request["domain"]].run(request["request"])
            outcomes = score_request(request, result)
            by_part[request["part"]].append(outcomes)
            if verbose and request["part"] == "tune" and set(outcomes) != {"right"}:
                print(request["id"], outcomes, result.answer.replace("\n", " | ")[:400])
    return by_part


def multi_rows(*, verbose: bool = False) -> list[Row]:
    """Rows for the tier-0 table: parts answered right, requests fully answered, wrong
    accepts, for the tune and held parts."""
    rows: list[Row] = []
    for name, outcomes in _run_all(_load(), verbose=verbose).items():
        parts = [o for request in outcomes for o in request]
        right = parts.count("right")
        whole = sum(all(o == "right" for o in request) for request in outcomes)
        rows += [
            (
                f"multi-part {name}: parts answered",
                f"{right / len(parts):.1%}",
                f"{right}/{len(parts)} verified or checked and right",
            ),
            (
                f"multi-part {name}: whole requests",
                f"{whole / len(outcomes):.1%}",
                f"{whole}/{len(outcomes)}",
            ),
            (
                f"multi-part {name}: wrong accepts",
                str(parts.count("wrong")),
                "accepted, not the expected answer",
            ),
        ]
    return rows


if __name__ == "__main__":
    import sys

    from _table import print_table

    print_table(multi_rows(verbose="-v" in sys.argv))
