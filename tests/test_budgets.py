"""Thread budgets: what earlier runs on a thread spent counts; a run budget counts one run."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.fakes import Crash, flaky, plan, scripted
from trifecta import Trifecta
from trifecta.agents import ModelPlanner
from trifecta.ledger import Budget
from trifecta.models import Price
from trifecta.specialists.math import math_specialist
from trifecta.testing import FunctionModel

WORD = "Tom has 3 boxes of 12 apples and eats 5. How many apples are left?"
REPLY = {"answer": "31", "claims": [{"kind": "value", "expr": "3*12-5", "answer": "31"}]}


def _app(url: str, crash: list[bool], thread_budget: Budget | None = None) -> Trifecta:
    model = FunctionModel(lambda m, i: REPLY, name="small", price=Price(1.0, 2.0), latency=0.3)
    chain = plan(
        ("t1", "math", WORD),
        ("t2", "flaky", "after $t1"),
        ("t3", "math", f"Then: {WORD}", ["t2"]),
    )
    return Trifecta(
        [math_specialist([model]), flaky(crash)],
        planner=ModelPlanner(scripted([chain])),
        checkpoint=url,
        thread_budget=thread_budget,
    )


async def _crashed_thread(tmp_path: Path) -> tuple[str, str, Trifecta]:
    url, thread = f"sqlite:///{tmp_path / 'cp.sqlite'}", uuid.uuid4().hex
    with pytest.raises(Crash):
        await _app(url, [True]).arun("two steps", thread_id=thread)
    return url, thread, _app(url, [])


async def _spent(app: Trifecta, thread: str) -> tuple[int, float, float]:
    """Tokens, cost and wall seconds the crashed first run left in its checkpoint."""
    state = await app.state(thread)
    assert state is not None and state.pending
    tokens = sum(e["tokens_in"] + e["tokens_out"] for e in state.ledger)
    return tokens, sum(e["cost_usd"] for e in state.ledger), state.report["wall_s"]


@pytest.mark.parametrize("kind", ["token", "cost", "time"])
async def test_a_thread_budget_counts_the_earlier_runs(tmp_path: Path, kind: str) -> None:
    url, thread, app = await _crashed_thread(tmp_path)
    tokens, cost, wall = await _spent(app, thread)
    assert tokens > 0 and cost > 0 and wall >= 0.3
    budget = {
        "token": Budget(max_tokens=tokens - 1),
        "cost": Budget(max_cost_usd=cost * 0.9),
        "time": Budget(max_wall_s=wall * 0.9),
    }[kind]
    resumed = await _app(url, [], thread_budget=budget).aresume(thread)
    reason = f"thread {kind} budget exhausted"
    assert resumed.stopped is not None and resumed.stopped.startswith(reason), resumed.stopped
    # t2 was pending in the checkpoint and calls no model; t3 would call one
    assert {r["id"]: r["status"] for r in resumed.subtasks} == {
        "t1": "checked",
        "t2": "verified",
        "t3": "unverifiable",
    }
    assert resumed.answer.startswith(f"Stopped early: {reason}")
    assert "→ 31 [t1: checked]" in resumed.answer


async def test_a_run_budget_counts_only_its_own_run(tmp_path: Path) -> None:
    _, thread, app = await _crashed_thread(tmp_path)
    # the same limits as a *run* budget: the resumed run has spent nothing yet
    tokens, cost, _ = await _spent(app, thread)
    run_budget = Budget(max_tokens=tokens + 60, max_cost_usd=cost * 1.5)
    result = await app.aresume(thread, budget=run_budget)
    assert result.ok and result.stopped is None
    assert [r["answer"] for r in result.subtasks] == ["31", "done: after 31", "31"]
    assert result.report["wall_s"] >= 0.3  # the report covers the whole thread
