"""Tier 0 (no model at all): what the deterministic solvers answer, and how fast the
offline command starts. One table:

- Spider dev (`../shared/data/spider`): the share of questions the SQL writer answers
  and the execution accuracy of those, on the databases it was tuned on and on the
  ones kept aside (`_tier0_spider.py`);
- math requests (`tier0_math/`): coverage (answered and verified) and accuracy (equal
  to the expected answer) on the tune and held parts;
- multi-part requests over a library and a bike-share (`tier0_multi/`): parts answered
  right and verified/checked, whole requests, wrong accepts (tune and held parts);
- the CLI's wall time for ``trifecta run "What is 2+2?"`` against
  ``python -c "import langgraph.graph, sympy"`` on the same machine (median of runs).

    python benchmarks/tier0.py [--data-dir ../shared/data] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _table import Row, print_table
from _tier0_math import math_rows
from _tier0_multi import multi_rows
from _tier0_spider import spider_rows

ROOT = Path(__file__).resolve().parent.parent


def _wall(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, capture_output=True, check=True)
    return time.perf_counter() - start


def cli_rows(runs: int) -> list[Row]:
    """The CLI's median wall time for an offline arithmetic request, and its ratio to
    importing LangGraph and SymPy alone."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TRIFECTA_DATA_DIR": tmp}
        cli = [sys.executable, "-m", "trifecta.cli", "run", "What is 2+2?"]
        base = [sys.executable, "-c", "import langgraph.graph, sympy"]
        _wall(cli, env)  # the data dir and bytecode caches exist before timing
        pairs = [(_wall(cli, env), _wall(base, env)) for _ in range(runs)]
    ran = statistics.median(p[0] for p in pairs)
    imported = statistics.median(p[1] for p in pairs)
    return [
        ("CLI 'What is 2+2?' wall time", f"{ran:.2f} s", f"median of {runs}"),
        ("import langgraph.graph, sympy", f"{imported:.2f} s", f"median of {runs}"),
        ("CLI / import ratio", f"{ran / imported:.2f}x", "target <= 1.2x"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print_table([*spider_rows(args.data_dir), *math_rows(), *multi_rows(), *cli_rows(args.runs)])


if __name__ == "__main__":
    main()
