"""Routing benchmark: cost and accuracy of all-expensive, all-cheap and cheapest-first
with verified escalation, on GSM8K (math) and Spider (SQL), with scripted models of
known price, latency and error rate; and the overhead of routing and audit logging.

The cheap model ($0.10 / $0.40 per million tokens, 10 ms) is wrong on a fixed share of
questions (default 30%, chosen by a hash of the question): on math its last
calculator step is off by one (GSM8K problems whose final answer is a calculator
step, so a right answer can be verified), on SQL it names a table that does not exist. Both are
errors the checkers can see. The expensive model ($5 / $15, 50 ms) answers from the
gold data. Two more rows show what the checkers cannot see: math slips that keep the
arithmetic right but use a wrong operand ("silent"), and Spider's recorded real-model
predictions as the cheap SQL model.

    python benchmarks/routing.py [--data-dir ../shared/data] [--math 400] [--sql 300]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _table import Row, print_table

from trifecta.audit import AuditLog, sha256_text
from trifecta.evaluation import Question, grade
from trifecta.graphs import run_specialist
from trifecta.ledger import Ledger
from trifecta.models import Message, Price
from trifecta.routing import RouteContext, chain_info, cheapest_first, escalated, route_record
from trifecta.specialists import Specialist
from trifecta.specialists.math import math_specialist
from trifecta.specialists.sql import sql_specialist
from trifecta.testing import CallInfo, FunctionModel

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CHEAP, BIG = Price(0.10, 0.40), Price(5.0, 15.0)
STEP = re.compile(r"<<([^=<>]+)=([^<>]+)>>")
Item = dict[str, Any]


def _wrong(key: str, rate: float) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < rate


def _math_items(data: Path, limit: int) -> list[Item]:
    items = []
    for i, line in enumerate((data / "math" / "gsm8k_test.jsonl").read_text().splitlines()):
        row = json.loads(line)
        steps = STEP.findall(row["answer"])
        final = row["answer"].split("####")[-1].strip().replace(",", "")
        if any(_number(v) == _number(final) for _, v in steps):  # a verifiable final answer
            items.append({"id": f"gsm8k-{i}", "question": row["question"], "steps": steps,
                          "expected": final})  # fmt: skip
    return items[:limit]


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _math_reply(item: Item, mode: str) -> dict[str, Any]:
    claims = [{"kind": "value", "expr": e, "answer": v} for e, v in item["steps"]]
    answer = item["expected"]
    if mode == "slip":  # the last step's value is off by one: the checker sees it
        claims[-1] = {**claims[-1], "answer": f"({claims[-1]['answer']}) + 1"}
        answer = claims[-1]["answer"]
    elif mode == "silent":  # right arithmetic on a wrong operand: the checker cannot see it
        expr = f"({claims[-1]['expr']}) + 1"
        claims[-1] = {"kind": "value", "expr": expr, "answer": expr}
        answer = expr
    return {"answer": answer, "claims": claims}


def _sql_items(data: Path, limit: int) -> list[Item]:
    lines = (data / "spider" / "questions.jsonl").read_text().splitlines()
    items = []
    for i, line in enumerate(lines[:limit]):
        row = json.loads(line)
        path = data / "spider" / "database" / row["db_id"] / f"{row['db_id']}.sqlite"
        items.append({**row, "id": f"spider-{i}", "db": f"sqlite:///{path.resolve()}"})
    return items


def _sql_reply(item: Item, mode: str) -> dict[str, Any]:
    if mode == "slip":
        return {"sql": re.sub(r"(?i)\bfrom\s+(\w+)", r"FROM \1_missing", item["gold_sql"], count=1)}
    if mode == "recorded":
        return {"sql": item["pred_sql"]}
    return {"sql": item["gold_sql"]}


def _model(name: str, items: dict[str, Item], reply: Callable[[Item], dict[str, Any]],
           price: Price, latency: float) -> FunctionModel:  # fmt: skip
    def fn(messages: list[Message], info: CallInfo) -> dict[str, Any]:
        question = messages[1].content.split("\n\nSchema:")[0]
        return reply(items[question])

    return FunctionModel(fn, name=name, price=price, latency=latency)


def _chain(
    kind: str, items: list[Item], strategy: str, rate: float, cheap_mode: str
) -> dict[str, list[Any]]:
    by_question = {i["question"]: i for i in items}
    respond = _math_reply if kind == "math" else _sql_reply

    def cheap_reply(item: Item) -> dict[str, Any]:
        if cheap_mode == "recorded":
            return respond(item, "recorded")
        return respond(item, cheap_mode if _wrong(item["id"], rate) else "right")

    cheap = _model("cheap", by_question, cheap_reply, CHEAP, 0.010)
    big = _model("big", by_question, lambda item: respond(item, "right"), BIG, 0.050)
    return {"all-expensive": [big], "all-cheap": [cheap], "cheapest-first": [cheap, big]}[strategy]


async def _suite(kind: str, items: list[Item], strategy: str, rate: float, cheap_mode: str,
                 confirm: bool = False) -> dict[str, float]:  # fmt: skip
    models = _chain(kind, items, strategy, rate, cheap_mode)
    specs: dict[str, Specialist] = {}

    def spec_for(item: Item) -> Specialist:
        key = item.get("db", "math")
        if key not in specs:
            specs[key] = (
                math_specialist(models)
                if kind == "math"
                else sql_specialist(key, models, confirm=confirm)
            )
        return specs[key]

    gate = asyncio.Semaphore(32)

    async def one(item: Item) -> tuple[bool, float, bool, float]:
        async with gate:
            ledger, started = Ledger(), time.perf_counter()
            outcome = await run_specialist(spec_for(item), item["id"], item["question"], ledger)
            latency = time.perf_counter() - started
        row = outcome.result
        if kind == "math":
            question = Question(item["id"], item["question"], item["expected"], "math")
        else:
            question = Question(
                item["id"], item["question"], item["gold_sql"], "sql", db=item["db"]
            )
        ok = row["status"] in ("verified", "checked") and grade(question, [dict(row)], "")
        handed_over = escalated(ledger.entries, from_solver="cheap")
        return ok, ledger.report()["cost_usd"], handed_over, latency

    results = await asyncio.gather(*(one(i) for i in items))
    n = len(results)
    return {
        "accuracy": sum(r[0] for r in results) / n,
        "cost": sum(r[1] for r in results),
        "escalated": sum(r[2] for r in results) / n,
        "p50": sorted(r[3] for r in results)[n // 2],
    }


def _rows(kind: str, items: list[Item], rate: float) -> list[Row]:
    rows: list[Row] = []
    cases = [("all-expensive", "slip", False), ("all-cheap", "slip", False),
             ("cheapest-first", "slip", False)]  # fmt: skip
    if kind == "sql":
        cases.append(("cheapest-first", "slip", True))
    cases += [("all-cheap", "silent" if kind == "math" else "recorded", False),
              ("cheapest-first", "silent" if kind == "math" else "recorded", False)]  # fmt: skip
    base = asyncio.run(_suite(kind, items, "all-expensive", rate, "slip"))
    for strategy, mode, confirm in cases:
        got = (
            base
            if strategy == "all-expensive"
            else asyncio.run(_suite(kind, items, strategy, rate, mode, confirm))
        )
        label = f"{kind} {strategy}" + ("" if mode == "slip" else f", cheap {mode}")
        label += " + agreement" if confirm else ""
        share = got["cost"] / base["cost"] if base["cost"] else 0.0
        rows.append((label, f"{got['accuracy']:.1%} at ${got['cost']:.4f}",
                     f"{share:.0%} of all-expensive cost; escalated {got['escalated']:.0%}; "
                     f"p50 {got['p50'] * 1000:.0f} ms; n={len(items)}"))  # fmt: skip
    return rows


def _overhead(n: int = 5000) -> list[Row]:
    spec = math_specialist([FunctionModel(lambda m, i: {}, name="cheap", price=CHEAP),
                            FunctionModel(lambda m, i: {}, name="big", price=BIG)])  # fmt: skip
    tiers = chain_info(spec.tiers)
    prompt = "x" * 2000
    with tempfile.TemporaryDirectory() as tmp:
        log, ledger = AuditLog(Path(tmp) / "audit.jsonl"), Ledger()
        started = time.perf_counter()
        for i in range(n):
            ctx = RouteContext("math", f"t{i}", "question", tiers, (), ())
            route = cheapest_first(ctx)
            assert route is not None
            ledger.record_route(specialist="math", subtask=f"t{i}", route=route_record(ctx, route))
        routing = (time.perf_counter() - started) / n
        started = time.perf_counter()
        for i in range(n):
            log.write("route", "run", subtask=f"t{i}", solver="cheap", reason="cheapest tier first")
            log.write("call", "run", subtask=f"t{i}", model="cheap", prompt_sha256=sha256_text(prompt),
                      response_sha256=sha256_text(prompt[:200]), cost_usd=0.0001)  # fmt: skip
        audit = (time.perf_counter() - started) / n
    return [
        ("overhead: routing decision + ledger record", f"{routing * 1e6:.1f} µs/call",
         f"target < 1 ms; {n} calls"),
        ("overhead: audit log (route + call records)", f"{audit * 1e6:.1f} µs/call",
         "target < 1 ms; sha256 of a 2 kB prompt, one fsync-free append each"),
        ("overhead: both", f"{(routing + audit) * 1e3:.3f} ms/call", "target < 1 ms"),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--math", type=int, default=400, help="GSM8K questions (default 400)")
    parser.add_argument("--sql", type=int, default=300, help="Spider questions (default 300)")
    parser.add_argument("--error-rate", type=float, default=0.3, help="cheap model's error share")
    args = parser.parse_args()
    rows: list[Row] = []
    if (args.data_dir / "math").is_dir():
        rows += _rows("math", _math_items(args.data_dir, args.math), args.error_rate)
    else:
        print(f"skipped math: no GSM8K under {args.data_dir} (pass --data-dir)", file=sys.stderr)
    if (args.data_dir / "spider").is_dir():
        rows += _rows("sql", _sql_items(args.data_dir, args.sql), args.error_rate)
    else:
        print(f"skipped SQL: no Spider under {args.data_dir} (pass --data-dir)", file=sys.stderr)
    print_table(rows + _overhead())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
