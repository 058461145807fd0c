"""RAG trust benchmark: does `verified` mean the cited passage answers the question?

Fifteen library policy documents and the questions about them (`benchmarks/rag_trust/`,
see its README), answered offline by the RAG specialist's tier 0 (extractive) over a real
Chroma store with the offline MiniLM embeddings. Per split (a split is any
`<split>.jsonl` of that folder; the default run covers the tuning splits `dev`,
`heldout-1`, `heldout`, `tune-2`, `tune-3`, `tune-4`, `heldout-2`, `heldout-3` and
`tune-5`; a held-out split is run by naming it):

- answerable verified: share of answerable questions whose result is `verified` with a
  quote (a verified refusal of an answerable question is counted as wrong, below);
- precision: share of `verified` results that are right. A verified quote is right when
  its quotes contain every expected substring (case- and space-insensitive); a verified
  refusal is right only for an unanswerable question;
- unanswerable refused: share of unanswerable questions answered "not found in the
  documents" (verified or not); never a quote presented as the answer.

Run: .venv/bin/python benchmarks/rag_trust.py [--split NAME]... [--failures]
Prints one table (``--failures`` also lists the questions scored wrong, for tuning).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _table import Row, print_table

from trifecta.graphs import run_specialist
from trifecta.ledger import Ledger
from trifecta.specialists.rag import NOT_FOUND, rag_specialist
from trifecta.verdict import Result

__all__ = ["SPLITS", "Case", "Scored", "main", "rag_rows"]

HERE = Path(__file__).resolve().parent / "rag_trust"
SPLITS = (  # tuning
    "dev",
    "heldout-1",
    "heldout",
    "tune-2",
    "tune-3",
    "tune-4",
    "heldout-2",
    "heldout-3",
    "tune-5",
)
TARGETS = {"answerable_verified": 0.70, "precision": 0.99, "unanswerable_refused": 0.95}


@dataclass(frozen=True)
class Case:
    """One question of the set; `expected` is None when the documents do not answer it."""

    id: str
    question: str
    expected: tuple[str, ...] | None


@dataclass(frozen=True)
class Scored:
    """One question's result, scored."""

    case: Case
    status: str
    answer: str
    quotes: tuple[str, ...]

    @property
    def refused(self) -> bool:
        """The answer is the refusal, whatever its status."""
        return self.answer == NOT_FOUND

    @property
    def verified(self) -> bool:
        """Verified, as a quote or as a refusal."""
        return self.status == "verified"

    @property
    def right(self) -> bool:
        """A verified quote holding every expected substring, or a refusal of an
        unanswerable question."""
        if self.case.expected is None:
            return self.refused
        quoted = _norm(" ".join(self.quotes))
        return not self.refused and all(_norm(s) in quoted for s in self.case.expected)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def load_cases(split: str) -> list[Case]:
    """The questions of one split."""
    rows = [json.loads(line) for line in _split_file(split).read_text().splitlines()]
    return [
        Case(r["id"], r["question"], None if r["answer"] is None else tuple(r["answer"]))
        for r in rows
    ]


def _split_file(split: str) -> Path:
    """The file of a split: ``<split>.jsonl`` in the set's folder, which must exist."""
    path = HERE / f"{split}.jsonl"
    if "/" in split or split.startswith(".") or not path.is_file():
        known = sorted(p.stem for p in HERE.glob("*.jsonl"))
        raise ValueError(f"no split {split!r}: the splits are {', '.join(known)}")
    return path


def _split_arg(split: str) -> str:
    try:
        _split_file(split)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return split


def _score(case: Case, result: Result) -> Scored:
    citations = result["data"].get("citations") or [] if result["status"] == "verified" else []
    quotes = tuple(str(c.get("quote", "")) for c in citations if isinstance(c, dict))
    return Scored(case, result["status"], result["answer"], quotes)


async def _answer_all(cases: list[Case], work: Path) -> list[Scored]:
    spec = rag_specialist(HERE / "docs", store_root=work)
    scored = []
    for case in cases:
        outcome = await run_specialist(spec, case.id, case.question, Ledger())
        scored.append(_score(case, outcome.result))
    return scored


def run_split(split: str, work: Path | None = None) -> list[Scored]:
    """Answer every question of a split with tier 0 (a fresh store unless `work` is given)."""
    cases = load_cases(split)
    if work is not None:
        return asyncio.run(_answer_all(cases, work))
    with tempfile.TemporaryDirectory(prefix="rag-trust-") as tmp:
        return asyncio.run(_answer_all(cases, Path(tmp)))


def figures(scored: list[Scored]) -> dict[str, Any]:
    """The benchmark's figures for scored results."""
    answerable = [s for s in scored if s.case.expected is not None]
    unanswerable = [s for s in scored if s.case.expected is None]
    verified = [s for s in scored if s.verified]
    quoted = [s for s in answerable if s.verified and not s.refused]
    return {
        "questions": len(scored),
        "answerable": len(answerable),
        "answerable_verified": _share(len(quoted), len(answerable)),
        "verified": len(verified),
        "verified_right": sum(s.right for s in verified),
        "verified_refusals": sum(s.refused for s in verified),
        "precision": _share(sum(s.right for s in verified), len(verified)),
        "unanswerable": len(unanswerable),
        "unanswerable_refused": _share(sum(s.refused for s in unanswerable), len(unanswerable)),
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def rag_rows(split: str) -> dict[str, Any]:
    """Answer one split (any ``<split>.jsonl`` of the set, e.g. ``"dev"``) offline and return its figures:
    ``questions``, ``answerable``, ``answerable_verified`` (share), ``verified``,
    ``verified_right``, ``verified_refusals``, ``precision`` (share of verified results
    that are right), ``unanswerable``, ``unanswerable_refused`` (share)."""
    return {"split": split, **figures(run_split(split))}


def table_rows(fig: dict[str, Any]) -> list[Row]:
    """Four table rows for one split's figures."""
    split = fig["split"]
    a, p, u = (fig[k] for k in ("answerable_verified", "precision", "unanswerable_refused"))
    return [
        (f"RAG {split}: questions", str(fig["questions"]), f"{fig['answerable']} answerable"),
        (
            f"RAG {split}: answerable verified",
            f"{a:.1%}",
            f"target ≥ {TARGETS['answerable_verified']:.0%}",
        ),
        (
            f"RAG {split}: precision of verified",
            f"{p:.1%}",
            f"{fig['verified_right']}/{fig['verified']} right ({fig['verified_refusals']} refusals); "
            f"target ≥ {TARGETS['precision']:.0%}",
        ),
        (
            f"RAG {split}: unanswerable refused",
            f"{u:.1%}",
            f"of {fig['unanswerable']}; target ≥ {TARGETS['unanswerable_refused']:.0%}",
        ),
    ]


def _print_failures(scored: list[Scored]) -> None:
    for s in scored:
        answerable = s.case.expected is not None
        missed = answerable and not (s.verified and not s.refused)
        if (s.verified and not s.right) or missed or (not answerable and not s.refused):
            print(f"{s.case.id} [{s.status}] {s.case.question}\n    -> {s.answer[:160]}")


def main() -> None:
    """Print the table for the chosen splits (the tuning splits by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--split", type=_split_arg, action="append", help=f"a split (default: {', '.join(SPLITS)})"
    )
    parser.add_argument("--failures", action="store_true", help="list what was scored wrong")
    args = parser.parse_args()
    rows: list[Row] = []
    for split in args.split or SPLITS:
        scored = run_split(split)
        if args.failures:
            _print_failures(scored)
        rows += table_rows({"split": split, **figures(scored)})
    print_table(rows)


if __name__ == "__main__":
    main()
