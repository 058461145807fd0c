"""Conversations: the planner sees earlier turns; offline, a follow-up computes on the
last verified number, and only when the reference is unambiguous."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from tests.fakes import plan, scripted, upper_specialist
from trifecta import Trifecta
from trifecta.agents import ModelPlanner, PlanRequest, RulePlanner
from trifecta.ledger import Ledger
from trifecta.models import Message
from trifecta.plan import UNROUTED, Turn
from trifecta.specialists import FunctionSolver, Specialist, default_specialists
from trifecta.testing import CallInfo
from trifecta.verdict import Verdict


def _turn(parts: int = 1, **verified: str) -> list[Turn]:
    return [Turn(request="earlier", answer="…", verified=verified, parts=parts)]


async def _planned(request: str, history: list[Turn]) -> str:
    """The instruction the offline planner writes for a one-part follow-up (to a
    specialist that takes any clause, so a clause left alone is still planned)."""
    ask = PlanRequest(request, [upper_specialist()], max_subtasks=8, history=history)
    (only,) = await RulePlanner().plan(ask, Ledger())
    return only["instruction"]


@pytest.mark.parametrize(
    ("clause", "instruction"),
    [
        ("and what is that times 3?", "What is (42)*3?"),
        ("What's it plus 8?", "What is (42) + 8?"),
        ("Divide it by 4.", "What is (42)/4?"),
        ("Subtract 2 from the result.", "What is (42) - 2?"),
        ("So, what is that squared?", "What is (42)^2?"),
        ("half of it", "What is (42)/2?"),
    ],
)
async def test_a_follow_up_computes_on_the_last_verified_number(
    clause: str, instruction: str
) -> None:
    assert await _planned(clause, _turn(t1="42")) == instruction


@pytest.mark.parametrize(
    ("clause", "history"),
    [
        ("and what is that times 3?", []),  # nothing to refer to
        ("and what is that times 3?", _turn(2, t1="42", t2="7")),  # which one?
        ("and what is that times 3?", _turn(2, t1="4")),  # the other part was not verified
        ("and what is that times 3?", _turn(t1="the desserts")),  # not a number
        ("and what is that times 3?", _turn()),  # answered, nothing verified
        ("Is it open on Sundays?", _turn(t1="42")),  # not arithmetic
        ("what is that times 3 and 4?", _turn(t1="42")),  # not wholly consumed
    ],
)
async def test_an_uncertain_reference_is_left_alone(clause: str, history: list[Turn]) -> None:
    assert await _planned(clause, history) == clause


async def test_offline_turns_refer_back_and_each_turn_reports_only_itself() -> None:
    app = Trifecta(default_specialists(), checkpoint=InMemorySaver())
    one = await app.arun("What is 6*7?", thread_id="c")
    two = await app.arun("and what is that times 3?", thread_id="c")
    three = await app.arun("Is it bigger than 100?", thread_id="c")
    both = await app.arun("What is 2+2? What is that times 3?", thread_id="c")
    assert [(s["specialist"], s["status"]) for s in both.subtasks] == [
        ("math", "verified"),
        (UNROUTED, "unverifiable"),  # "that" is ambiguous: flagged, not guessed
    ]
    assert [s["answer"] for s in two.subtasks] == ["126"] and two.subtasks[0][
        "status"
    ] == "verified"
    assert (one.turn, two.turn, three.turn) == (1, 2, 3)
    assert three.error and "no specialist recognises" in three.error  # not guessed
    first = await app.state("c", turn=1)
    assert first is not None and first.answer == one.answer and not first.pending


async def test_the_model_planner_sees_earlier_turns_and_their_verified_results() -> None:
    seen: list[list[Message]] = []

    def planner_reply(messages: list[Message], info: CallInfo) -> Any:
        seen.append(messages)
        return plan(("t1", "math", "What is 42*3?"))

    model = scripted([lambda m, i: plan(("t1", "math", "What is 6*7?")), planner_reply])
    app = Trifecta(default_specialists(), planner=ModelPlanner(model, fallback=RulePlanner()))
    await app.arun("What is 6*7?", thread_id="m")
    later = await app.arun("and that times 3?", thread_id="m")
    shown = "\n".join(m.content for m in seen[0])
    assert "asked 'What is 6*7?'" in shown and '{"t1": "42"}' in shown
    assert seen[0][-1].content == "and that times 3?"
    assert [s["answer"] for s in later.subtasks] == ["126"]


async def test_a_checked_answer_is_not_a_number_to_build_a_verified_one_on() -> None:
    guess = Specialist(
        "guess", "Guesses.", [FunctionSolver(lambda job: "41")],
        lambda j, c: Verdict("checked", "plausible"),
        affinity=lambda clause: 1.0 if "guess" in clause.lower() else 0.0,
    )  # fmt: skip
    app = Trifecta([guess, *default_specialists()], checkpoint=InMemorySaver())
    first = await app.arun("Guess the number.", thread_id="g")
    later = await app.arun("What is that plus 1?", thread_id="g")
    assert first.subtasks[0]["status"] == "checked"
    assert not any(s["status"] == "verified" for s in later.subtasks)


async def test_when_another_agent_spoke_last_that_is_not_resolved_from_our_turn() -> None:
    graph = Trifecta(default_specialists()).graph().compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "p"}}
    await graph.ainvoke({"request": "What is 2+2?"}, config)
    other = {
        "messages": [AIMessage("That is 56.", name="other"), HumanMessage("What is that plus 1?")]
    }
    later = await graph.ainvoke(other, config)
    assert not any(r["answer"] == "5" for r in later["results"].values())
