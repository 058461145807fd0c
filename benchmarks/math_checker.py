"""Math checker benchmark on GSM8K calculator steps and MATH-500 answers.

- GSM8K: every `<<expr=value>>` step as a `value` claim must be verified; the same
  steps with the value perturbed (+1, -1, x10, one digit changed) must be rejected.
- MATH-500: each gold answer against itself rewritten (LaTeX as is, SymPy form,
  terms reordered, decimal where exact): accept rate; against other problems'
  gold answers: false accepts (target 0). Parse failures by category.
- Time per check (p50/p99), checks per second, and adversarial inputs under the timeout.

Run: .venv/bin/python benchmarks/math_checker.py [--data-dir ../shared/data] [--limit N]
Prints one table.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from decimal import Decimal, getcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import sympy as sp
from _table import print_table

from trifecta.specialists.math import check_math
from trifecta.specialists.math._values import Value, parse_value, to_plain

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
GENUINELY_EQUAL = {("5", "x=5")}  # cross-problem answer pairs that are the same value
STEP = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
ADVERSARIAL = [
    {"id": "tower", "kind": "value", "expr": "10**10**10", "answer": "1"},
    {"id": "factorial", "kind": "value", "expr": "factorial(10**9)", "answer": "1"},
    {"id": "nested", "kind": "value", "expr": "(" * 5000 + "1" + ")" * 5000, "answer": "1"},
    {"id": "megabyte", "kind": "value", "expr": "1+" * 500_000 + "1", "answer": "1"},
    {"id": "dunder", "kind": "value", "expr": "().__class__.__bases__[0]", "answer": "1"},
    {
        "id": "slow-integral",
        "kind": "integral",
        "expr": "exp(x**2)*sin(x**3)/log(x)",
        "var": "x",
        "lower": "2",
        "upper": "3",
        "answer": "1",
    },
    {"id": "slow-simplify", "kind": "equal", "expr": "(x+1)**200 - (x-1)**200", "answer": "0"},
    {
        "id": "hard-integral",
        "kind": "integral",
        "expr": "exp(-a*x**2)*sin(x)**7/(x+a)",
        "var": "x",
        "lower": "0",
        "upper": "oo",
        "answer": "1",
    },
    {
        "id": "deep-series",
        "kind": "series",
        "expr": "tan(tan(tan(x)))",
        "var": "x",
        "point": "0",
        "order": 50,
        "answer": "x",
    },
]


def gsm8k_claims(path: Path, limit: int | None) -> list[dict[str, Any]]:
    claims = []
    for line in path.read_text().splitlines()[:limit]:
        row = json.loads(line)
        for n, (expr, value) in enumerate(STEP.findall(row["answer"])):
            claims.append(
                {"id": f"{row['idx']}.{n}", "kind": "value", "expr": expr, "answer": value}
            )
    return claims


def perturb(value: str) -> list[tuple[str, str]]:
    """(kind, perturbed value) pairs that are certainly different numbers."""
    try:
        number = Fraction(value.replace(",", ""))
    except (ValueError, ZeroDivisionError):
        return []
    out = [("+1", str(number + 1)), ("-1", str(number - 1))]
    if number != 0:
        out.append(("x10", str(number * 10)))
    digits = [i for i, c in enumerate(value) if c.isdigit()]
    if digits:
        i = digits[-1]
        out.append(("digit", value[:i] + str((int(value[i]) + 1) % 10) + value[i + 1 :]))
    return out


def rewrites(answer: str) -> list[tuple[str, str]]:
    """(kind, rewritten answer) for one MATH-500 gold answer."""
    value = parse_value(answer)
    out = [("latex as is", answer), ("sympy form", to_plain(value))]
    reordered = _reorder(value)
    if reordered is not None:
        out.append(("reordered terms", reordered))
    decimal = _decimal(value)
    if decimal is not None:
        out.append(("decimal", decimal))
    return out


def _reorder(value: Value) -> str | None:
    if value.kind == "expr" and isinstance(value.items[0], sp.Add):
        return " + ".join(f"({sp.sstr(term)})" for term in reversed(value.items[0].args))
    if value.kind == "set" and len(value.items) > 1:
        return "[" + ", ".join(to_plain(v) for v in reversed(value.items)) + "]"
    return None


def _decimal(value: Value) -> str | None:
    if (
        value.kind != "expr"
        or not isinstance(value.items[0], sp.Rational)
        or value.items[0].is_Integer
    ):
        return None
    q = int(value.items[0].q)
    while q % 2 == 0:
        q //= 2
    while q % 5 == 0:
        q //= 5
    if q != 1:
        return None
    getcontext().prec = 50
    return str(Decimal(int(value.items[0].p)) / Decimal(int(value.items[0].q)))


def category(error: str) -> str:
    for needle, name in [
        ("text", "text answer"), ("unsupported syntax", "unsupported syntax"), ("cannot parse", "syntax error"),
        ("not allowed", "unknown name or function"), ("LaTeX", "LaTeX structure"),
    ]:  # fmt: skip
        if needle in error:
            return name
    return error[:40]


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}% ({part}/{whole})" if whole else "n/a"


def run(data: Path, limit: int | None, timeout: float) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    steps = gsm8k_claims(data / "math" / "gsm8k_test.jsonl", limit)
    started = time.perf_counter()
    verdicts = list(check_math(steps, timeout=timeout))
    wall = time.perf_counter() - started
    failures = [(c, v) for c, v in zip(steps, verdicts, strict=True) if v.status != "verified"]
    rows.append(
        ("GSM8K steps verified", pct(len(steps) - len(failures), len(steps)), "target: all")
    )
    for claim, verdict in failures[:5]:
        rows.append(
            (
                "  not verified",
                f"{claim['expr']}={claim['answer']}",
                f"{verdict.status}: {verdict.messages[:1]}",
            )
        )
    times = sorted(v.elapsed_ms for v in verdicts)
    rows.append(
        (
            "check time p50 / p99",
            f"{statistics.median(times):.2f} / {times[int(0.99 * len(times))]:.2f} ms",
            "GSM8K steps",
        )
    )
    rows.append(("checks per second", f"{len(steps) / wall:.0f}/s", "2 workers, in-order output"))

    perturbed = [({**c, "answer": p}, kind) for c in steps for kind, p in perturb(c["answer"])]
    outcome = list(check_math((p for p, _ in perturbed), timeout=timeout))
    by_kind: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    for (_, kind), verdict in zip(perturbed, outcome, strict=True):
        by_kind[kind] += 1
        rejected[kind] += verdict.status == "rejected"
    for kind in by_kind:
        rows.append(
            (
                f"GSM8K perturbed ({kind}) rejected",
                pct(rejected[kind], by_kind[kind]),
                "target: 100%",
            )
        )

    rows += math500(data / "math" / "math500_test.jsonl", limit, timeout)
    adversarial = list(check_math(ADVERSARIAL, timeout=timeout))
    slowest = max(v.elapsed_ms for v in adversarial)
    statuses = ", ".join(f"{v['id']}={v['status']}" for v in adversarial)
    rows.append(
        ("adversarial inputs, slowest", f"{slowest:.0f} ms", f"timeout {timeout:g}s; {statuses}")
    )
    return rows


def math500(path: Path, limit: int | None, timeout: float) -> list[tuple[str, str, str]]:
    answers = [json.loads(line)["answer"] for line in path.read_text().splitlines()[:limit]]
    pairs, parse_errors = [], Counter()
    for answer in answers:
        try:
            pairs += [
                (kind, {"kind": "equal", "expr": answer, "answer": text})
                for kind, text in rewrites(answer)
            ]
        except Exception as exc:
            parse_errors[category(str(exc))] += 1
    verdicts = list(check_math((c for _, c in pairs), timeout=timeout))
    rows = []
    totals: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    for (kind, _), verdict in zip(pairs, verdicts, strict=True):
        totals[kind] += 1
        accepted[kind] += verdict.status == "verified"
    parsed = len(answers) - sum(parse_errors.values())
    rows.append(
        (
            "MATH-500 answers parsed",
            pct(parsed, len(answers)),
            "; ".join(f"{k}: {n}" for k, n in parse_errors.most_common()),
        )
    )
    for kind in totals:
        rows.append(
            (f"MATH-500 vs itself, {kind}", pct(accepted[kind], totals[kind]), "accept rate")
        )
    others = [
        {"kind": "equal", "expr": a, "answer": b}
        for i, a in enumerate(answers)
        for b in {answers[(i + k) % len(answers)] for k in (1, 2, 3)}
        if b.strip() != a.strip()
    ]
    accepted_pairs = [
        (c["expr"].strip(), c["answer"].strip())
        for c, v in zip(others, check_math(others, timeout=timeout), strict=True)
        if v.status == "verified"
    ]
    equal = [p for p in accepted_pairs if p in GENUINELY_EQUAL or p[::-1] in GENUINELY_EQUAL]
    false = [p for p in accepted_pairs if p not in equal]
    rows.append(
        (
            "MATH-500 vs other answers, false accepts",
            pct(len(false), len(others)),
            "target 0; " + "; ".join(f"{a} ~ {b}" for a, b in false[:5]),
        )
    )
    rows.append(
        (
            "MATH-500 vs other answers, equal values",
            str(len(equal)),
            "different problems whose answers are genuinely equal: "
            + "; ".join(f"{a} ~ {b}" for a, b in equal[:5]),
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, help="only the first N problems of each set")
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()
    if not (args.data_dir / "math").is_dir():
        print(f"skipped: no math data under {args.data_dir} (pass --data-dir)", file=sys.stderr)
        return 0
    rows = run(args.data_dir, args.limit, args.timeout)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
