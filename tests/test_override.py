"""One compiled graph per `Trifecta`; `override()` swaps parts for a block of code."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import trifecta.runner
from tests.fakes import merger_text, plan, scripted, upper_specialist
from trifecta import Trifecta
from trifecta.agents import ModelMerger, ModelPlanner, RulePlanner, TemplateMerger
from trifecta.errors import UserError
from trifecta.specialists.math import math_specialist
from trifecta.testing import FunctionModel

RIGHT = {"answer": "31", "claims": [{"kind": "value", "expr": "3*12 - 5", "answer": "31"}]}
WRONG = {"answer": "30", "claims": [{"kind": "value", "expr": "3*12 - 5", "answer": "30"}]}
WORD = "Solve the equation for the apples left: Tom has 3 boxes of 12 apples and eats 5"


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts graph builds (each compiled graph is built once)."""
    count: list[int] = []
    real = trifecta.runner.build_orchestrator

    def counting(**kwargs: Any) -> Any:
        count.append(1)
        return real(**kwargs)

    monkeypatch.setattr(trifecta.runner, "build_orchestrator", counting)
    return count


async def test_the_graph_compiles_once_and_again_after_register(compiles: list[int]) -> None:
    app = Trifecta([upper_specialist("upper")])
    for _ in range(3):
        result = await app.arun("hello")
        stored = await app.state(result.thread_id)
        assert stored is not None and stored.subtasks == result.subtasks
    assert len(compiles) == 1
    app.register(upper_specialist("shout"))
    result = await app.arun("hello")
    assert len(compiles) == 2 and result.ok
    with app.override(planner=ModelPlanner(scripted([plan(("t1", "shout", "hi"))]))):
        assert (await app.arun("x")).subtasks[0]["specialist"] == "shout"
    await app.arun("hello")  # back to the cached graph
    assert len(compiles) == 3


async def test_override_applies_inside_the_block_and_only_to_its_task() -> None:
    app = Trifecta([upper_specialist()])
    direct = ModelPlanner(scripted([plan(("t1", "upper", "from the override"))]))
    gate = asyncio.Event()

    async def outside() -> str:
        await gate.wait()
        return (await app.arun("plain request")).subtasks[0]["instruction"]

    async def inside() -> str:
        with app.override(planner=direct):
            gate.set()
            await asyncio.sleep(0)
            return (await app.arun("ignored")).subtasks[0]["instruction"]

    plain, overridden = await asyncio.gather(outside(), inside())
    assert (overridden, plain) == ("from the override", "plain request")
    assert isinstance(app.planner, RulePlanner)
    assert (await app.arun("after")).subtasks[0]["instruction"] == "after"


async def test_override_models_swaps_tiers_and_the_merger_chain() -> None:
    wrong = FunctionModel(lambda m, i: WRONG, name="big")
    merger = FunctionModel(merger_text, name="big")
    app = Trifecta([math_specialist([wrong])], merger=ModelMerger(merger))
    fake = FunctionModel(lambda m, i: RIGHT if i.schema_name else merger_text(m, i), name="fake")
    with app.override(models={"big": fake}):
        result = await app.arun(WORD)
    row = result.subtasks[0]
    assert (row["status"], row["solver"], row["answer"]) == ("checked", "fake", "31")
    assert result.answer.startswith("Merged: [t1]")
    assert not wrong.calls and not merger.calls and len(fake.calls) == 2
    before = await app.arun(WORD)  # outside the block: the real (wrong) model again
    assert before.subtasks[0]["status"] != "checked" and len(wrong.calls) == 3


async def test_override_merger_and_router() -> None:
    calls: list[str] = []
    app = Trifecta([math_specialist([FunctionModel(lambda m, i: RIGHT, name="m")])])

    def router(ctx: Any) -> Any:
        calls.append(ctx.specialist)
        return None  # stop: nothing tried

    with app.override(merger=TemplateMerger(), router=router):
        result = await app.arun(WORD)
    assert calls == ["math"] and result.subtasks[0]["status"] == "unverifiable"


async def test_override_reads_unnamed_parts_live_and_refuses_unknown_models(
    compiles: list[int],
) -> None:
    app = Trifecta([upper_specialist("upper")])
    with app.override(planner=ModelPlanner(scripted([plan(("t1", "shout", "hi"))] * 2))):
        app.register(upper_specialist("shout"))  # registered inside the block: it counts
        assert (await app.arun("x")).subtasks[0]["specialist"] == "shout"
        assert (await app.arun("y")).ok
    assert len(compiles) == 1  # one graph for both runs in the block
    model = FunctionModel(lambda m, i: RIGHT, name="small")
    other = Trifecta([math_specialist([model])])
    with pytest.raises(UserError, match=r"no model named typo \(models: small\)"):  # noqa: SIM117
        with other.override(models={"typo": model}):
            pass
