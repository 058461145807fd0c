"""The ``trifecta eval`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from trifecta._preflight import fail
from trifecta.config import ConfigError, load_config
from trifecta.evaluation._suites import BUILTIN_SUITES, SuiteError, load_suite

if TYPE_CHECKING:  # the runner and the report's plotting load when `eval` runs, not before
    from trifecta.evaluation._report import Summary
    from trifecta.evaluation._run import Record, Setup

__all__ = ["add_eval_parser", "run_eval"]

_err = Console(stderr=True)


def add_eval_parser(commands: Any) -> None:
    """Register ``eval`` on the CLI's subcommands."""
    ev = commands.add_parser(
        "eval",
        help="compare configurations on a suite of questions",
        description=(
            "Run a suite against one or more configurations; print accuracy, share verified, "
            "cost per question and per correct answer, latency p50/p95 and escalation rate; "
            "write eval.json, frontier.png and frontier.html. Exit 1 when a configuration "
            "misses a threshold, 2 on bad input."
        ),
    )
    ev.add_argument("suite", help=f"{', '.join(BUILTIN_SUITES)}, or a JSONL file of questions")
    ev.add_argument("--config", action="append", type=Path, default=[],
                    help="a configuration (TOML) to evaluate; repeat to compare several")  # fmt: skip
    ev.add_argument("--suite-data", type=Path, default=Path("../shared/data"),
                    help="benchmark data for the built-in suites (default ../shared/data)")  # fmt: skip
    ev.add_argument("--limit", type=int, help="only the first N questions")
    ev.add_argument("--out", type=Path, default=Path("eval-results"),
                    help="where to write eval.json and the frontier plot (default eval-results)")  # fmt: skip
    ev.add_argument("--executor", choices=("local", "ray"), default="local")
    ev.add_argument("--ray-address", help="a running Ray cluster (default: start a local one)")
    ev.add_argument("--jobs", type=int, default=4, help="questions in flight per process")
    ev.add_argument("--min-accuracy", type=float, help="fail below this accuracy (0..1)")
    ev.add_argument("--min-verified", type=float, help="fail below this share verified (0..1)")
    ev.add_argument("--max-cost-per-question", type=float, help="fail above this USD cost")
    ev.add_argument("--json", action="store_true", help="print the summaries as JSON")


def _setups(paths: list[Path]) -> list[Setup]:
    from trifecta.evaluation._run import Setup

    if not paths:
        return [Setup("default", load_config(None))]
    names = [p.stem for p in paths]
    if len(set(names)) != len(names):
        names = [str(p) for p in paths]
    return [Setup(n, load_config(p)) for n, p in zip(names, paths, strict=True)]


def _table(summaries: list[Summary], suite: str) -> Table:
    from trifecta.evaluation._report import COLUMNS, cells

    table = Table(title=f"trifecta eval: {suite}")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "configuration" else "right")
    for s in summaries:
        table.add_row(*cells(s))
    return table


def _progress(total: int) -> Any:
    seen = [0]
    step = max(1, total // 20)

    def tick(record: Record) -> None:
        seen[0] += 1
        if seen[0] % step == 0 or seen[0] == total:
            _err.print(f"[dim]{seen[0]}/{total} answered[/dim]", highlight=False)

    return tick


def run_eval(args: argparse.Namespace) -> int:
    """Run ``trifecta eval``; returns the exit code."""
    from trifecta.evaluation._report import Thresholds, failures, summarize, write_outputs
    from trifecta.evaluation._run import run_local, run_ray

    try:
        setups = _setups(args.config)
        work = setups[0].config.data_dir / "eval"
        questions = load_suite(
            args.suite, data_dir=args.suite_data, work_dir=work, limit=args.limit
        )
    except (SuiteError, ConfigError, OSError) as exc:
        return fail(exc)
    tick = _progress(len(questions) * len(setups))
    if args.executor == "ray":
        records = run_ray(
            setups, questions, address=args.ray_address, jobs=args.jobs, on_record=tick
        )
    else:
        records = asyncio.run(run_local(setups, questions, jobs=args.jobs, on_record=tick))
    summaries = summarize(records)
    paths = write_outputs(args.out, args.suite, summaries, records)
    if args.json:
        print(json.dumps([asdict(s) for s in summaries], indent=2))
    else:
        Console(width=None if sys.stdout.isatty() else 140).print(_table(summaries, args.suite))
        print(f"wrote {paths['json']}, {paths['png']}, {paths['html']}")
    problems = failures(
        summaries, Thresholds(args.min_accuracy, args.min_verified, args.max_cost_per_question)
    )
    for problem in problems:
        print(f"below threshold: {problem}", file=sys.stderr)
    return 1 if problems else 0
