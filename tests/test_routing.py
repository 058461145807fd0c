"""Routing: escalation order and recorded reasons, endpoint fallback, user routers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import APPLES, big_model
from trifecta import Trifecta, load_config
from trifecta.audit import AuditLog, verify_audit
from trifecta.ledger import LedgerEntry, RouteRecord
from trifecta.models import ModelError, Price
from trifecta.routing import Route, RouteContext, cheapest_first, escalated
from trifecta.specialists.math import math_specialist
from trifecta.testing import FunctionModel, Scripted, completion, error, serve_openai

RIGHT = {"answer": "31", "claims": [{"kind": "value", "expr": "3*12 - 5", "answer": "31"}]}
WRONG = {"answer": "30", "claims": [{"kind": "value", "expr": "3*12 - 5", "answer": "30"}]}
WORD = "Solve the equation for the apples left: Tom has 3 boxes of 12 apples and eats 5"


def _routes(ledger: list[LedgerEntry]) -> list[RouteRecord]:
    return [e["route"] for e in ledger if e["kind"] == "route"]


def _raise(message: str) -> Any:
    def fn(messages: Any, info: Any) -> Any:
        raise ModelError(message)

    return fn


async def test_escalation_order_and_reasons_are_recorded(tmp_path: Path) -> None:
    cheap = FunctionModel(lambda m, i: WRONG, name="cheap", privacy="local")
    broken = FunctionModel(_raise("503 upstream overloaded"), name="mid")
    big = FunctionModel(lambda m, i: RIGHT, name="big")
    log = tmp_path / "audit.jsonl"
    app = Trifecta([math_specialist([cheap, broken, big])], audit=AuditLog(log))
    result = await app.arun(WORD)
    row = result.subtasks[0]
    assert (row["status"], row["solver"], row["answer"]) == ("checked", "big", "31")
    routes = _routes(result.ledger)
    assert [(r["tier"], r["solver"], r["code"]) for r in routes] == [
        (0, "sympy", "first"), (1, "cheap", "next"), (2, "mid", "escalated"), (3, "big", "escalated"),
    ]  # fmt: skip
    assert [(r["from_solver"], r["from_outcome"]) for r in routes] == [
        (None, None), ("sympy", "not applicable"), ("cheap", "rejected"), ("mid", "error"),
    ]  # fmt: skip
    assert routes[0]["reason"] == "cheapest tier first"
    assert routes[2]["reason"].startswith(
        "escalated: tier 1 (cheap) rejected: 3 attempt(s), last: 3*12 - 5"
    )
    assert routes[3]["reason"] == "escalated: tier 2 (mid) error: 503 upstream overloaded"
    models = [e["model"] for e in result.ledger if e["kind"] == "route"]
    assert models == [None, "cheap", "mid", "big"]  # a solver is not a model
    assert escalated(result.ledger) and escalated(result.ledger, from_solver="mid")
    assert not escalated(result.ledger, from_solver="sympy")  # not applicable is no escalation
    assert len(cheap.calls) == 3 and len(broken.calls) == 1 and len(big.calls) == 1
    records = [json.loads(line) for line in log.read_text().splitlines()]
    audited = [{k: r[k] for k in routes[0]} for r in records if r["kind"] == "route"]
    assert audited == routes
    assert verify_audit(log) == []


def _config(tmp_path: Path, urls: dict[str, str]) -> Path:
    path = tmp_path / "trifecta.toml"
    path.write_text(f"""
checkpoint = "memory"
max_retries = 0
[models.flaky]
base_url = "{urls["flaky"]}"
privacy = "local"
[models.slow]
base_url = "{urls["slow"]}"
timeout_s = 0.3
[models.big]
base_url = "{urls["big"]}"
[routing]
planner = "big"
merger = "big"
math = ["flaky", "slow", "big"]
""")
    return path


async def test_endpoint_errors_and_timeouts_fall_back_to_the_next_model(tmp_path: Path) -> None:
    slow_reply = Scripted(completion(json.dumps(RIGHT)), delay=1.5)
    with (
        serve_openai(lambda body: error(500, "backend crashed")) as flaky,
        serve_openai(lambda body: slow_reply) as slow,
        serve_openai(big_model) as big,
    ):
        urls = {"flaky": flaky.url, "slow": slow.url, "big": big.url}
        config = load_config(_config(tmp_path, urls), env={}, data_dir=tmp_path)
        result = await Trifecta.from_config(config).arun(APPLES)
        assert len(flaky.requests) == 1 and len(slow.requests) == 1
    row = result.subtasks[0]
    assert (row["status"], row["solver"], row["answer"]) == ("checked", "big", "31")
    routes = _routes(result.ledger)
    assert [(r["tier"], r["code"], r["from_outcome"]) for r in routes[2:]] == [
        (2, "escalated", "error"), (3, "escalated", "error"),
    ]  # fmt: skip
    assert "backend crashed" in routes[2]["reason"] and routes[2]["from_solver"] == "flaky"
    assert "timed out" in routes[3]["reason"].lower() and routes[3]["from_solver"] == "slow"


async def test_a_user_router_replaces_the_policy() -> None:
    cheap = FunctionModel(lambda m, i: RIGHT, name="cheap")
    big = FunctionModel(lambda m, i: RIGHT, name="big")

    def straight_to_big(ctx: RouteContext) -> Route | None:
        if any(a.tier == len(ctx.tiers) - 1 for a in ctx.history):
            return None
        return Route(len(ctx.tiers) - 1, "word problem: the largest model")

    app = Trifecta([math_specialist([cheap, big])], router=straight_to_big)
    result = await app.arun(WORD)
    assert result.subtasks[0]["solver"] == "big" and cheap.calls == []
    assert [(r["solver"], r["code"], r["reason"]) for r in _routes(result.ledger)] == [
        ("big", "first", "word problem: the largest model")
    ]
    # the default policy is still available to compose with
    composed = await Trifecta([math_specialist([cheap])], router=cheapest_first).arun(WORD)
    assert composed.ok and composed.error is None
    assert (composed.subtasks[0]["status"], composed.subtasks[0]["solver"]) == ("checked", "cheap")


async def test_an_escalation_by_a_user_router_is_counted() -> None:
    wrong = FunctionModel(lambda m, i: WRONG, name="small")
    right = FunctionModel(lambda m, i: RIGHT, name="large")

    def terse(ctx: RouteContext) -> Route | None:  # says nothing about escalating
        left = [t.index for t in ctx.tiers[1:] if t.index not in {a.tier for a in ctx.history}]
        return Route(left[0], "next") if left else None

    result = await Trifecta([math_specialist([wrong, right])], router=terse).arun(WORD)
    assert result.subtasks[0]["solver"] == "large"
    assert escalated(result.ledger, from_solver="small")
    last = _routes(result.ledger)[-1]
    assert (last["code"], last["from_solver"], last["from_outcome"]) == (
        "escalated",
        "small",
        "rejected",
    )


async def test_a_broken_router_labels_the_subtask_instead_of_crashing() -> None:
    wrong = FunctionModel(lambda m, i: WRONG, name="wrong")

    def loops(ctx: RouteContext) -> Route | None:
        return Route(1, "again")

    def raises(ctx: RouteContext) -> Route | None:
        raise RuntimeError("router bug")

    for router, status, message in [
        (loops, "rejected", "the router chose tier 1, which already ran"),
        (raises, "unverifiable", "RuntimeError('router bug')"),
    ]:
        result = await Trifecta([math_specialist([wrong])], router=router).arun(WORD)
        row = result.subtasks[0]
        assert row["status"] == status
        assert [e["message"] for e in row["errors"] if e["rule"] == "router"] == [message]


async def test_the_ledger_refuses_a_cloud_model_even_when_a_router_picks_it() -> None:
    cloud = FunctionModel(lambda m, i: RIGHT, name="cloud-big", privacy="cloud")

    def force_cloud(ctx: RouteContext) -> Route | None:
        return None if ctx.history else Route(1, "forced")

    app = Trifecta([math_specialist([cloud])], router=force_cloud)
    result = await app.arun(WORD, sensitive=True)
    row = result.subtasks[0]
    assert cloud.calls == [] and row["status"] == "unverifiable"
    assert "cloud-big is a cloud model and this run is sensitive (requested)" in " ".join(
        e["message"] for e in row["errors"]
    )


async def test_the_routing_table_prices_the_all_expensive_counterfactual() -> None:
    cheap = FunctionModel(lambda m, i: RIGHT, name="cheap", price=Price(0.1, 0.2))
    big = FunctionModel(lambda m, i: RIGHT, name="big", price=Price(10.0, 30.0))
    app = Trifecta([math_specialist([cheap, big])])
    assert app.reference_model() == ("big", Price(10.0, 30.0))

    result = await app.arun(WORD)
    table = result.routing
    assert table is not None and table["reference_model"] == "big"
    [row] = table["rows"]
    assert (row["tier"], row["solver"], row["model_calls"]) == (1, "cheap", 1)
    call = next(e for e in result.ledger if e["kind"] == "model")
    assert call["cost_usd"] > 0 and row["cost_usd"] == pytest.approx(call["cost_usd"])
    expected = (call["tokens_in"] * 10.0 + call["tokens_out"] * 30.0) / 1e6
    assert row["all_expensive_usd"] == pytest.approx(expected)
    assert table["saving_usd"] == pytest.approx(expected - call["cost_usd"])
    assert result.to_dict()["routing"] == table

    tier0 = await app.arun("Integrate x^2 from 0 to 3")
    assert tier0.routing is not None
    [row] = tier0.routing["rows"]
    assert (row["tier"], row["cost_usd"], row["model_calls"]) == (0, 0.0, 0)
    # estimated: the instruction in, the answer out, four characters per token
    instruction, answer = tier0.subtasks[0]["instruction"], tier0.subtasks[0]["answer"]
    estimate = ((len(instruction) // 4 + 1) * 10.0 + (len(answer) // 4 + 1) * 30.0) / 1e6
    assert tier0.routing["all_expensive_usd"] == pytest.approx(estimate)
    assert tier0.routing["saving_usd"] == pytest.approx(estimate)
