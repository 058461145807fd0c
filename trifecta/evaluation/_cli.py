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
from trifecta.evaluation._suites import SuiteError, load_suite

if TYPE_CHECKING:  # the runner and the report's plotting load when `eval` runs, not before
    from trifecta.evaluation._report import Summary
    from trifecta.evaluation._run import Record, Setup

__all__ = ["run_eval"]

_err = Console(stderr=True)


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
