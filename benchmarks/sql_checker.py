"""SQL checker benchmark on Spider dev (625 questions, 12 SQLite databases).

- Gold queries: false rejects (target 0%) and results equal to running gold directly.
- Mutations of gold (unknown column/table, DML, DDL, two statements, syntax error): rejected, by kind.
- Recorded predictions: execution accuracy overall, and for those the checker passes / rejects.
- Dialects: the databases copied into PostgreSQL and MariaDB; gold transpiled from SQLite must
  return the same rows (target >= 95%); differences categorized.
- Tier 0 (rule-based writer): execution accuracy, at the specialist (the question handed to the
  writer whole) and through the planner (`Trifecta(default_specialists(db=...)).arun(question)`,
  offline, the way `trifecta run` answers), with the wrong `checked` answers through the planner
  and how many of them came from a request split into several subtasks (target 0).
  Schema narrowing: gold-table recall.
- Checker time p50/p99 (target p50 < 5 ms) and end-to-end time per question.

Run: .venv/bin/python benchmarks/sql_checker.py [--data-dir ../shared/data] [--limit N] [--no-dialects]
     [--tier0-only]
Prints one table.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlglot
from _planned import planned_rows
from _spider import load_mysql, load_postgres, questions, run_sqlite, same_result, sqlite_path
from _table import percentiles, print_table
from sqlglot import exp

from trifecta.specialists.sql import (
    Database,
    Schema,
    SqlRuleError,
    Table,
    Writer,
    check_sql,
    connect,
    run_checked,
)

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
MAX_ROWS = 100_000
Row = tuple[str, str, str]


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}% ({part}/{whole})" if whole else "n/a"


def _first(tree: exp.Expr, kind: type[exp.Expr]) -> Any:
    return next(tree.find_all(kind), None)


def mutations(gold: str) -> list[tuple[str, str]]:
    tree = sqlglot.parse_one(gold, read="sqlite")
    table = _first(tree, exp.Table)
    out = [("DML", f"DELETE FROM {table.name}"), ("DDL", f"DROP TABLE {table.name}"),
           ("two statements", f"{gold}; DELETE FROM {table.name}"), ("syntax error", f"{gold} WHERE (")]  # fmt: skip
    column = _first(tree, exp.Column)
    if column is not None:
        bad = tree.copy()
        _first(bad, exp.Column).set("this", exp.to_identifier("zz_no_such_column"))
        out.append(("unknown column", bad.sql(dialect="sqlite")))
    bad = tree.copy()
    _first(bad, exp.Table).set("this", exp.to_identifier("zz_no_such_table"))
    out.append(("unknown table", bad.sql(dialect="sqlite")))
    return out


def _check_only(sql: str, db: Database) -> bool:
    try:
        check_sql(sql, db.schema(), dialect="sqlite", max_rows=MAX_ROWS)
    except SqlRuleError:
        return False
    return True


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - start) * 1000


def gold_and_predictions(
    items: list[dict[str, Any]], dbs: dict[str, Database], data: Path
) -> list[Row]:
    rejects, equal, check_ms = [], 0, []
    pred = Counter[str]()
    for q in items:
        db, path = dbs[q["db_id"]], sqlite_path(data, q["db_id"])
        expected = run_sqlite(path, q["gold_sql"])
        _, ms = timed(lambda q=q, db=db: _check_only(q["gold_sql"], db))
        check_ms.append(ms)
        outcome = run_checked(db, q["gold_sql"], max_rows=MAX_ROWS)
        if outcome.status != "checked":
            rejects.append((q["id"], outcome.errors[0]["message"][:60]))
        elif same_result(q["gold_sql"], expected, outcome.data["rows"]):
            equal += 1
        verdict = run_checked(db, q["pred_sql"], max_rows=MAX_ROWS).status
        try:
            correct = same_result(q["gold_sql"], expected, run_sqlite(path, q["pred_sql"]))
        except Exception:
            correct = False
        pred[f"{verdict}:total"] += 1
        pred[f"{verdict}:correct"] += correct
    n = len(items)
    rows: list[Row] = [
        (
            "gold: checker false rejects",
            pct(len(rejects), n),
            "target 0%; " + "; ".join(f"#{i}: {m}" for i, m in rejects[:3]),
        )
    ]
    rows.append(
        (
            "gold: checked result == direct gold result",
            pct(equal, n),
            "row multisets (lists under ORDER BY)",
        )
    )
    rows.append(
        (
            "checker time p50 / p99",
            percentiles(check_ms, digits=2),
            "all six rules, SQLite; target p50 < 5 ms",
        )
    )
    total = pred["checked:total"] + pred["rejected:total"]
    correct = pred["checked:correct"] + pred["rejected:correct"]
    rows.append(
        ("predictions: execution accuracy", pct(correct, total), "recorded pred_sql vs gold")
    )
    rows.append(
        (
            "predictions the checker passes: accuracy",
            pct(pred["checked:correct"], pred["checked:total"]),
            "",
        )
    )
    rows.append(
        (
            "predictions the checker rejects: accuracy",
            pct(pred["rejected:correct"], pred["rejected:total"]),
            f"{pred['rejected:total']} rejected",
        )
    )
    return rows


def mutation_rows(items: list[dict[str, Any]], dbs: dict[str, Database]) -> list[Row]:
    total, rejected = Counter[str](), Counter[str]()
    for q in items:
        for kind, sql in mutations(q["gold_sql"]):
            total[kind] += 1
            rejected[kind] += run_checked(dbs[q["db_id"]], sql).status == "rejected"
    return [
        (f"mutation rejected: {kind}", pct(rejected[kind], total[kind]), "target 100%")
        for kind in total
    ]


def _category(error: str | None, expected: list[Any], got: list[Any], gold: str, path: Path) -> str:
    if error is not None:
        if "must appear in the GROUP BY" in error:
            return "bare column with an aggregate and no GROUP BY (PostgreSQL refuses)"
        if (
            "(text) does not exist" in error
            or "text > integer" in error
            or "text < integer" in error
        ):
            return (
                "arithmetic or comparison on a text column (SQLite coerces text, e.g. 'null' -> 0)"
            )
        return "error: " + error.split("\n")[0][:60]
    tree = sqlglot.parse_one(gold, read="sqlite")
    if tree.args.get("order") and tree.args.get("limit"):
        loose = tree.copy()
        loose.set("limit", None)
        unlimited = run_sqlite(path, loose.sql(dialect="sqlite"))
        if all(any(same_result("", [r], [u]) for u in unlimited) for r in got):
            return "ties under ORDER BY ... LIMIT (the gold query is nondeterministic)"
    if tree.find(exp.AggFunc) and not tree.args.get("group") and len(expected) == len(got) == 1:
        return "bare column next to MAX/MIN (SQLite takes that row's value)"
    if tree.args.get("order") and same_result("", expected, got):
        return "ties under ORDER BY (tied rows in another order)"
    if tree.find(exp.Like):
        return "LIKE: SQLite ignores case, MariaDB's binary collation does not"
    spaced = any(isinstance(v, str) and v != v.rstrip() for r in got for v in r)
    if len(got) > len(expected) and spaced:
        return "MariaDB '=' ignores trailing spaces (PAD SPACE collation)"
    if len(expected) != len(got):
        return "row count differs"
    return "values differ"


def dialect_rows(items: list[dict[str, Any]], data: Path) -> list[Row]:
    rows: list[Row] = []
    for name, loader in (("PostgreSQL", load_postgres), ("MariaDB", load_mysql)):
        targets = {
            d: connect(loader(sqlite_path(data, d), d)) for d in sorted({q["db_id"] for q in items})
        }
        same, problems = 0, Counter[str]()
        for q in items:
            expected = run_sqlite(sqlite_path(data, q["db_id"]), q["gold_sql"])
            outcome = run_checked(
                targets[q["db_id"]], q["gold_sql"], read="sqlite", max_rows=MAX_ROWS
            )
            error = None if outcome.status == "checked" else outcome.errors[0]["message"]
            if error is None and same_result(q["gold_sql"], expected, outcome.data["rows"]):
                same += 1
            else:
                problems[
                    _category(
                        error,
                        expected,
                        outcome.data["rows"],
                        q["gold_sql"],
                        sqlite_path(data, q["db_id"]),
                    )
                ] += 1
        for db in targets.values():
            db.close()
        detail = "; ".join(f"{k}: {v}" for k, v in problems.most_common(8))
        tied = sum(
            v for k, v in problems.items() if k.startswith("ties")
        )  # any tied row is correct
        rows.append(
            (
                f"{name}: transpiled gold returns SQLite's rows",
                pct(same, len(items)),
                f"strict; {detail}",
            )
        )
        rows.append(
            (
                f"{name}: same rows, or a tied row of a nondeterministic gold",
                pct(same + tied, len(items)),
                "target >= 95%",
            )
        )
    return rows


def tier0_rows(items: list[dict[str, Any]], dbs: dict[str, Database], data: Path) -> list[Row]:
    written = correct = 0
    e2e = []
    writers = {d: Writer.of(db) for d, db in dbs.items()}
    for q in items:
        db = dbs[q["db_id"]]
        start = time.perf_counter()
        sql = writers[q["db_id"]].write(q["question"])
        outcome = run_checked(db, sql, max_rows=MAX_ROWS) if sql else None
        e2e.append((time.perf_counter() - start) * 1000)
        if outcome is None:
            continue
        written += 1
        correct += outcome.status == "checked" and same_result(
            q["gold_sql"],
            run_sqlite(sqlite_path(data, q["db_id"]), q["gold_sql"]),
            outcome.data["rows"],
        )
    return [
        ("tier 0 (rules): questions it writes SQL for", pct(written, len(items)), ""),
        (
            "tier 0 (rules): execution accuracy",
            pct(correct, len(items)),
            f"{pct(correct, written)} of those it answers",
        ),
        (
            "end-to-end per question p50 / p99",
            percentiles(e2e, digits=2),
            "tier 0: write + check + execute on SQLite",
        ),
    ]


def narrowing_rows(items: list[dict[str, Any]], dbs: dict[str, Database]) -> list[Row]:
    merged = Schema(
        {
            f"{d}__{n}": Table(f"{d}__{n}", t.columns, t.foreign_keys)
            for d, db in dbs.items()
            for n, t in db.schema().tables.items()
        }
    )
    rows: list[Row] = []
    for k in (5, 10):
        hits = 0
        for q in items:
            gold = {
                f"{q['db_id']}__{merged_name}"
                for merged_name in _gold_tables(q["gold_sql"], dbs[q["db_id"]].schema())
            }
            hits += gold <= set(merged.narrow(q["question"], k))
        rows.append(
            (
                f"schema narrowing: gold tables in top {k}",
                pct(hits, len(items)),
                f"lexical, out of {len(merged.tables)} tables (12 databases merged)",
            )
        )
    return rows


def _gold_tables(sql: str, schema: Schema) -> set[str]:
    tree = sqlglot.parse_one(sql, read="sqlite")
    return {name for t in tree.find_all(exp.Table) if (name := schema.canonical(t.name))}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--no-dialects", action="store_true", help="skip PostgreSQL and MariaDB")
    parser.add_argument("--tier0-only", action="store_true", help="only the tier-0 rows")
    args = parser.parse_args()
    if not (args.data_dir / "spider").is_dir():
        print(f"skipped: no Spider data under {args.data_dir} (pass --data-dir)", file=sys.stderr)
        return 0
    items = questions(args.data_dir, args.limit)
    dbs = {
        d: connect(f"sqlite:///{sqlite_path(args.data_dir, d)}")
        for d in sorted({q["db_id"] for q in items})
    }
    tier0 = tier0_rows(items, dbs, args.data_dir) + planned_rows(items, args.data_dir)
    if args.tier0_only:
        print_table(tier0)
        return 0
    rows = gold_and_predictions(items, dbs, args.data_dir) + mutation_rows(items, dbs)
    rows += tier0 + narrowing_rows(items, dbs)
    if not args.no_dialects:
        rows += dialect_rows(items, args.data_dir)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
