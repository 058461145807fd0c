"""Spider dev answered by the SQL specialist's tier 0 alone (the rule-based writer with
schema linking): the share of questions it writes a query for, and the execution
accuracy of those queries against the gold query's rows.

The split is by database, fixed before the writer was tuned: the writer was tuned on
the TUNE databases only; the HELD ones were never looked at while tuning.

    python benchmarks/_tier0_spider.py [--data-dir ../shared/data] [--show-tune-failures]
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from pathlib import Path
from typing import Any

from _spider import questions, run_sqlite, same_result, sqlite_path
from _table import Row, print_table

from trifecta.specialists.sql import Writer, connect, run_checked

__all__ = ["HELD", "TUNE", "spider_rows"]

TUNE = frozenset(
    {
        "car_1",
        "concert_singer",
        "course_teach",
        "cre_Doc_Template_Mgt",
        "pets_1",
        "poker_player",
        "student_transcripts_tracking",
    }
)
HELD = frozenset({"battle_death", "employee_hire_evaluation", "flight_2", "museum_visit", "tvshow"})


def _tied(gold_sql: str, expected: list[Any], got: list[Any]) -> bool:
    """A gold ``ORDER BY … LIMIT 1`` picks one of several tied rows; the writer returns
    every tied row ("the most common", "the highest" keep ties)."""
    return (
        bool(re.search(r"limit\s+1\b", gold_sql, re.I))
        and len(got) > 1
        and all(tuple(r) in {tuple(g) for g in got} for r in expected)
    )


def _reordered(gold_sql: str, expected: list[Any], got: list[Any]) -> bool:
    """The same rows with the columns in another order ("the average fee per status" as
    status, average or as average, status)."""
    width = len(got[0]) if got else 0
    if not got or width > 4 or any(len(r) != width for r in [*got, *expected]):
        return False
    return any(
        same_result(gold_sql, expected, [tuple(r[i] for i in order) for r in got])
        for order in itertools.permutations(range(width))
    )


def _answers(data: Path, part: frozenset[str], show: bool) -> tuple[int, int, int, int, int, int]:
    items = [q for q in questions(data, None) if q["db_id"] in part]
    writers: dict[str, tuple[Any, Writer]] = {}
    written = right = tied = empty_gold = reordered = 0
    for q in items:
        if q["db_id"] not in writers:
            db = connect(f"sqlite:///{sqlite_path(data, q['db_id'])}")
            writers[q["db_id"]] = (db, Writer.of(db))
        db, writer = writers[q["db_id"]]
        sql = writer.write(q["question"])
        if sql is None:
            continue
        outcome = run_checked(db, sql)
        expected = run_sqlite(sqlite_path(data, q["db_id"]), q["gold_sql"])
        checked = outcome.status == "checked"
        ok = checked and same_result(q["gold_sql"], expected, outcome.data["rows"])
        written += 1
        right += ok
        tied += checked and not ok and _tied(q["gold_sql"], expected, outcome.data["rows"])
        empty_gold += checked and not ok and not expected and bool(outcome.data["rows"])
        reordered += (
            checked and not ok and _reordered(q["gold_sql"], expected, outcome.data["rows"])
        )
        if show and not ok:
            print(f"WRONG {q['question']}\n  gold {q['gold_sql']}\n  ours {sql}", file=sys.stderr)
    for db, _ in writers.values():
        db.close()
    return len(items), written, right, tied, empty_gold, reordered


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "n/a"


def spider_rows(data: Path, show: bool = False) -> list[Row]:
    """One row per part: answered share and accuracy of the answered."""
    if not (data / "spider" / "questions.jsonl").exists():
        return [("Spider dev, tier 0", "skipped", f"no Spider data under {data}")]
    rows: list[Row] = []
    for name, part in (("tune", TUNE), ("held", HELD)):
        total, written, right, tied, empty, reordered = _answers(
            data, part, show and name == "tune"
        )
        rows.append(
            (
                f"Spider dev tier 0 ({name}, {len(part)} dbs): answered",
                f"{_pct(written, total)} ({written}/{total})",
                f"execution accuracy of those {_pct(right, written)} ({right}/{written}); "
                f"{_pct(right + reordered + tied, written)} counting {reordered} with the same rows "
                f"in another column order and {tied} keeping every tied row of a gold LIMIT 1; "
                f"{empty} more wrong where the gold query returns no rows; target >= 25% at >= 95%",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--show-tune-failures", action="store_true", help="never held ones")
    args = parser.parse_args()
    print_table(spider_rows(args.data_dir, args.show_tune_failures))


if __name__ == "__main__":
    main()
