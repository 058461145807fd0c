"""`trifecta eval`: run a suite of questions with known answers against one or more
configurations and compare them on accuracy, verification, cost and latency.

    from trifecta.evaluation import Setup, load_suite, run_local, summarize

    questions = load_suite("gsm8k", data_dir=Path("../shared/data"), work_dir=Path(".data/eval"), limit=50)
    records = asyncio.run(run_local([Setup("cheap-first", load_config("cheap.toml"))], questions))
    for s in summarize(records):
        print(s.config, s.accuracy, s.cost_per_question)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from trifecta.evaluation._grade import grade
from trifecta.evaluation._suites import (
    BUILTIN_SUITES,
    Question,
    SuiteError,
    cranfield_qrels,
    cranfield_records,
    load_suite,
)

if TYPE_CHECKING:
    from trifecta.evaluation._report import Summary, Thresholds, failures, summarize, write_outputs
    from trifecta.evaluation._run import Record, Setup, run_local, run_ray

_LAZY = {
    **dict.fromkeys(("Summary", "Thresholds", "failures", "summarize", "write_outputs"), "_report"),
    **dict.fromkeys(("Record", "Setup", "run_local", "run_ray"), "_run"),
}

__all__ = [
    "BUILTIN_SUITES",
    "Question",
    "Record",
    "Setup",
    "SuiteError",
    "Summary",
    "Thresholds",
    "cranfield_qrels",
    "cranfield_records",
    "failures",
    "grade",
    "load_suite",
    "run_local",
    "run_ray",
    "summarize",
    "write_outputs",
]


def __getattr__(name: str) -> Any:
    """The runner and the report load on first use: `trifecta run` imports the eval
    command's parser, not the evaluation itself."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
