"""LangChain interop: trifecta as a tool of a ReAct agent, and LangChain tools and
runnables as tiers of a specialist."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent

from trifecta import Trifecta
from trifecta.specialists import Specialist, ToolSolver, default_specialists
from trifecta.verdict import Verdict, check_error


class _ScriptedChat(GenericFakeChatModel):
    """A chat model that replies with scripted messages (tool calls included)."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> _ScriptedChat:  # type: ignore[override]
        return self


async def test_as_tool_answers_with_what_was_verified() -> None:
    helper = Trifecta(default_specialists()).as_tool()
    assert helper.name == "trifecta" and "math" in helper.description
    assert list(helper.get_input_schema().model_json_schema()["properties"]) == ["request"]
    content = await helper.ainvoke({"request": "What is 6*7? Differentiate x^2."})
    assert (
        "42" in content and "2*x" in content and content.endswith("[trifecta: all parts verified]")
    )
    call = {
        "name": "trifecta",
        "args": {"request": "Is Pluto a planet? What is 2+2?"},
        "id": "c1",
        "type": "tool_call",
    }
    message = await helper.ainvoke(call)
    assert isinstance(message, ToolMessage) and "do not rely on the others" in message.content
    assert message.artifact["subtasks"][0]["status"] != "verified"


@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
async def test_a_react_agent_calls_trifecta_as_a_tool() -> None:
    model = _ScriptedChat(
        messages=iter(
            [
                AIMessage(
                    "",
                    tool_calls=[
                        {"name": "trifecta", "args": {"request": "What is 6*7?"}, "id": "c1"}
                    ],
                ),
                AIMessage("The checked answer is 42."),
            ]
        )
    )
    agent = create_react_agent(model, [Trifecta(default_specialists()).as_tool()])
    out = await agent.ainvoke({"messages": [("user", "Ask trifecta for 6*7.")]})
    (result,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert "→ 42 [t1: verified]" in result.content and "all parts verified" in result.content
    assert out["messages"][-1].content == "The checked answer is 42."


CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Spain": "Madrid"}


@tool
def capital(country: str) -> str:
    """The capital of a country."""
    return {"France": "Paris", "Japan": "Tokyo", "Spain": "Barcelona"}.get(country, "unknown")


def _known(job: Any, candidate: Any) -> Verdict:
    country = job.instruction
    if CAPITALS.get(country) == candidate.answer:
        return Verdict("verified", "atlas")
    return Verdict("rejected", "atlas", errors=(check_error("atlas", "not the capital"),))


async def test_tools_and_runnables_are_tiers_whose_answers_are_still_checked() -> None:
    fallback = RunnableLambda(lambda text: {"Spain": "Madrid"}.get(text, "?"))
    spec = Specialist(
        "atlas",
        "Capitals of countries.",
        [ToolSolver(capital), ToolSolver(fallback, label="gazetteer")],
        _known,
        affinity=lambda clause: 1.0,
    )
    app = Trifecta([spec])
    graph = app.graph().compile()
    tools_seen = [
        e["name"]
        async for e in graph.astream_events({"request": "France"}, version="v2")
        if e["event"] == "on_tool_start"
    ]
    assert tools_seen == ["capital"]
    france, spain, peru = [await app.arun(c) for c in ("France", "Spain", "Peru")]
    assert [(s["answer"], s["solver"]) for s in france.subtasks] == [("Paris", "capital")]
    moved = spain.subtasks[0]  # the tool's wrong answer is rejected, the next tier right
    assert (moved["status"], moved["answer"], moved["solver"]) == (
        "verified",
        "Madrid",
        "gazetteer",
    )
    assert peru.subtasks[0]["status"] != "verified"


async def test_a_tool_tier_is_cloud_unless_declared_local() -> None:
    seen: list[str] = []
    remote = RunnableLambda(lambda text: seen.append(text) or "Paris")
    spec = Specialist(
        "atlas", "Capitals.", [ToolSolver(remote, label="remote")], _known,
        affinity=lambda clause: 1.0,
    )  # fmt: skip
    app = Trifecta([spec], sensitive_patterns=["France"])
    assert (await app.arun("France")).subtasks[0]["status"] == "unverifiable" and seen == []
    local = Specialist(
        "atlas", "Capitals.", [ToolSolver(remote, privacy="local")], _known,
        affinity=lambda clause: 1.0,
    )  # fmt: skip
    assert (await Trifecta([local], sensitive_patterns=["France"]).arun("France")).ok
