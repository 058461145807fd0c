"""Per-configuration summaries, thresholds, and the outputs: JSON, a PNG and an HTML
page of the efficiency frontier (accuracy against cost per question)."""

from __future__ import annotations

import base64
import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from html import escape
from pathlib import Path
from typing import Any

from trifecta.errors import UserError
from trifecta.evaluation._run import Record

__all__ = ["COLUMNS", "Summary", "Thresholds", "cells", "failures", "summarize", "write_outputs"]


@dataclass(frozen=True)
class Summary:
    """One configuration's figures over a suite."""

    config: str
    questions: int
    correct: int
    accuracy: float
    verified: float
    checked: float
    cost_usd: float
    cost_per_question: float
    cost_per_correct: float | None
    latency_p50_s: float
    latency_p95_s: float
    escalation_rate: float
    errors: int


@dataclass(frozen=True)
class Thresholds:
    """Limits a configuration must meet; None means not checked."""

    min_accuracy: float | None = None
    min_verified: float | None = None
    max_cost_per_question: float | None = None


def _percentile(values: Sequence[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarize(records: Sequence[Record]) -> list[Summary]:
    """One `Summary` per configuration, in the order they first appear."""
    names = list(dict.fromkeys(r.config for r in records))
    out = []
    for name in names:
        rows = [r for r in records if r.config == name]
        n, correct = len(rows), sum(r.correct for r in rows)
        cost = sum(r.cost_usd for r in rows)
        latencies = sorted(r.latency_s for r in rows)
        out.append(
            Summary(
                config=name,
                questions=n,
                correct=correct,
                accuracy=correct / n,
                verified=sum(r.status == "verified" for r in rows) / n,
                checked=sum(r.status == "checked" for r in rows) / n,
                cost_usd=round(cost, 8),
                cost_per_question=cost / n,
                cost_per_correct=cost / correct if correct else None,
                latency_p50_s=_percentile(latencies, 50),
                latency_p95_s=_percentile(latencies, 95),
                escalation_rate=sum(r.escalated for r in rows) / n,
                errors=sum(r.status == "error" for r in rows),
            )
        )
    return out


def failures(summaries: Sequence[Summary], limits: Thresholds) -> list[str]:
    """Each configuration that misses a threshold, with the figure and the limit."""
    problems = []
    for s in summaries:
        if limits.min_accuracy is not None and s.accuracy < limits.min_accuracy:
            problems.append(f"{s.config}: accuracy {s.accuracy:.1%} < {limits.min_accuracy:.1%}")
        if limits.min_verified is not None and s.verified < limits.min_verified:
            problems.append(f"{s.config}: verified {s.verified:.1%} < {limits.min_verified:.1%}")
        if (
            limits.max_cost_per_question is not None
            and s.cost_per_question > limits.max_cost_per_question
        ):
            problems.append(
                f"{s.config}: cost per question ${s.cost_per_question:.6f} > "
                f"${limits.max_cost_per_question:.6f}"
            )
    return problems


COLUMNS = ("configuration", "n", "accuracy", "verified", "cost/question", "cost/correct",
           "p50", "p95", "escalation")  # fmt: skip


def cells(s: Summary) -> list[str]:
    """One summary as the printed table's and the HTML page's cells, in `COLUMNS` order."""
    per_correct = "-" if s.cost_per_correct is None else f"${s.cost_per_correct:.6f}"
    return [
        s.config, str(s.questions), f"{s.accuracy:.1%}", f"{s.verified:.1%}",
        f"${s.cost_per_question:.6f}", per_correct, f"{s.latency_p50_s:.3f}s",
        f"{s.latency_p95_s:.3f}s", f"{s.escalation_rate:.1%}",
    ]  # fmt: skip


def _frontier(summaries: Sequence[Summary]) -> list[Summary]:
    """The Pareto-efficient configurations: no other is cheaper and at least as accurate."""
    ordered = sorted(summaries, key=lambda s: (s.cost_per_question, -s.accuracy))
    best, out = -1.0, []
    for s in ordered:
        if s.accuracy > best:
            out.append(s)
            best = s.accuracy
    return out


def _plot(summaries: Sequence[Summary], front: Sequence[Summary], suite: str, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UserError("the frontier plot needs matplotlib: pip install 'trifecta[eval]'") from exc
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for s in summaries:
        ax.scatter(s.cost_per_question, s.accuracy * 100, s=60, zorder=3)
        ax.annotate(s.config, (s.cost_per_question, s.accuracy * 100),
                    textcoords="offset points", xytext=(6, 6))  # fmt: skip
    ax.plot([s.cost_per_question for s in front], [s.accuracy * 100 for s in front],
            linestyle="--", color="grey", zorder=2, label="efficiency frontier")  # fmt: skip
    ax.set_xlabel("cost per question (USD)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"{Path(suite).name}: accuracy against cost")
    right = max(s.cost_per_question for s in summaries)
    ax.set_xlim(-0.05 * right if right else -1, 1.2 * right if right else 1)
    ax.set_ylim(0, 105)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _html(summaries: Sequence[Summary], front: Sequence[str], suite: str, png: Path) -> str:
    image = base64.b64encode(png.read_bytes()).decode()
    head = "".join(f"<th>{h}</th>" for h in (*COLUMNS, "frontier"))
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{escape(c)}</td>" for c in cells(s))
        + f"<td>{'yes' if s.config in front else ''}</td></tr>"
        for s in summaries
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>trifecta eval: {escape(suite)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;text-align:right}"
        "td:first-child{text-align:left}</style></head><body>"
        f"<h1>trifecta eval: {escape(suite)}</h1><img alt='accuracy against cost' src='data:image/png;base64,{image}'>"
        f"<table><tr>{head}</tr>{rows}</table></body></html>"
    )


def write_outputs(
    out_dir: Path, suite: str, summaries: Sequence[Summary], records: Sequence[Record]
) -> dict[str, Path]:
    """Write ``eval.json``, ``frontier.png`` and ``frontier.html`` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / n for k, n in (("json", "eval.json"), ("png", "frontier.png"),
                                         ("html", "frontier.html"))}  # fmt: skip
    front = _frontier(summaries)
    payload: dict[str, Any] = {
        "suite": suite,
        "configs": [asdict(s) for s in summaries],
        "frontier": [s.config for s in front],
        "records": [r.to_dict() for r in records],
    }
    paths["json"].write_text(json.dumps(payload, indent=2), "utf-8")
    _plot(summaries, front, suite, paths["png"])
    paths["html"].write_text(_html(summaries, payload["frontier"], suite, paths["png"]), "utf-8")
    return paths
