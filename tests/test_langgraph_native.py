"""The compiled graph behaves like any LangGraph graph: it runs with no context through
every entry point, takes and returns messages, nests in a `MessagesState` parent,
streams progress on the ``custom`` stream, and lets `interrupt()` pause it."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Command, interrupt

from trifecta import Trifecta
from trifecta.agents import ModelPlanner, RulePlanner
from trifecta.graphs import RunContext
from trifecta.ledger import Budget, Ledger
from trifecta.models import Message, ModelError, OpenAIChatModel, Price
from trifecta.specialists import (
    Candidate,
    FunctionSolver,
    Job,
    Specialist,
    default_specialists,
    transient_retry,
)
from trifecta.testing import FunctionModel, Scripted, completion, serve_openai
from trifecta.verdict import Verdict


def _math() -> Trifecta:
    return Trifecta(default_specialists())


def _answers(state: dict[str, Any]) -> list[str]:
    return [r["answer"] for r in state["results"].values() if r["status"] == "verified"]


async def test_the_bare_graph_runs_through_every_entry_point_with_no_context() -> None:
    graph = _math().graph().compile()
    ask = {"request": "What is 2+2?"}
    assert _answers(graph.invoke(ask)) == ["4"]
    assert _answers(await graph.ainvoke(ask)) == ["4"]
    assert _answers(list(graph.stream(ask, stream_mode="values"))[-1]) == ["4"]
    chunks = [c async for c in graph.astream(ask, stream_mode="values")]
    assert _answers(chunks[-1]) == ["4"]
    ends = [
        e["data"]["output"]
        async for e in graph.astream_events(ask, version="v2")
        if e["event"] == "on_chain_end" and e["name"] == "LangGraph"
    ]
    assert _answers(ends[-1]) == ["4"]


def test_sync_invoke_works_inside_a_running_event_loop() -> None:
    """A notebook cell: `invoke` and `Trifecta.run` are called while a loop runs."""
    app = _math()

    async def cell() -> tuple[str, str]:
        state = app.graph().compile().invoke({"request": "What is 6*7?"})
        return state["answer"], app.run("What is 2+3?").subtasks[0]["answer"]

    answer, five = asyncio.run(cell())
    assert "42" in answer and five == "5"


class _PricedSolver:
    """A tier that calls a priced model through the ledger (so budgets apply)."""

    name = "priced"
    repairable = False

    def __init__(self, model: FunctionModel | OpenAIChatModel) -> None:
        self.model = model

    async def solve(self, job: Job, ledger: Ledger) -> Candidate:
        reply = await ledger.call(
            self.model, [Message("user", job.instruction)], node="ask", subtask=job.subtask
        )
        return Candidate(answer=reply.text)


def _priced_app(privacy: str = "local") -> tuple[Trifecta, FunctionModel]:
    model = FunctionModel(
        lambda m, i: "ANSWER",
        name="paid",
        price=Price(1.0, 1.0),
        privacy=privacy,  # type: ignore[arg-type]
    )
    spec = Specialist(
        "ask",
        "Answers anything.",
        [_PricedSolver(model)],
        lambda j, c: Verdict("verified", "trusted"),
        affinity=lambda c: 1.0,
    )
    return Trifecta([spec]), model


async def test_context_overrides_the_instances_budget() -> None:
    app, model = _priced_app()
    graph = app.graph().compile()
    free = await graph.ainvoke({"request": "Say it."})
    assert free["results"]["t1"]["answer"] == "ANSWER" and len(model.calls) == 1
    broke = await graph.ainvoke(
        {"request": "Say it."}, context=RunContext(budget=Budget(max_cost_usd=0.0))
    )
    assert "cost budget exhausted" in (broke["stopped"] or "")
    assert len(model.calls) == 1  # the budget stopped the call before it was made
    as_dict = await graph.ainvoke({"request": "Say it."}, context={"sensitive": True})
    assert as_dict["sensitive"] == ["requested"]


async def test_the_bare_graph_keeps_sensitive_requests_off_cloud_models() -> None:
    app, model = _priced_app(privacy="cloud")
    graph = app.graph().compile()
    for ask in (
        {"request": "Write to ada@example.com."},
        {"messages": [{"role": "user", "content": "Write to ada@example.com."}]},
    ):
        state = await graph.ainvoke(ask)
        assert state["sensitive"] == ["email"]
        assert state["results"]["t1"]["status"] == "unverifiable"
    assert model.calls == []


async def test_a_conversation_stays_sensitive_after_a_sensitive_turn() -> None:
    app, model = _priced_app(privacy="cloud")
    graph = app.graph().compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "c"}}
    await graph.ainvoke({"request": "My card is ada@example.com."}, config)
    later = await graph.ainvoke({"request": "Say it."}, config)  # the planner sees turn 1
    assert later["sensitive"] == ["email"] and model.calls == []


async def test_messages_in_and_an_ai_message_out() -> None:
    graph = _math().graph().compile()
    state = await graph.ainvoke({"messages": [{"role": "user", "content": "What is 2+2?"}]})
    asked, said = state["messages"]
    assert isinstance(asked, HumanMessage) and isinstance(said, AIMessage)
    assert said.content == state["answer"] and "4" in said.content
    meta = said.response_metadata["trifecta"]
    assert meta["ok"] is True
    assert [(s["id"], s["status"], s["answer"]) for s in meta["subtasks"]] == [
        ("t1", "verified", "4")
    ]
    assert meta["report"]["checks"] == 1


async def test_a_messages_state_parent_uses_it_as_a_node() -> None:
    trifecta = _math().graph().compile()

    def ask(state: MessagesState) -> dict[str, Any]:
        return {"messages": [HumanMessage("What is 12*12?")]}

    def after(state: MessagesState) -> dict[str, Any]:
        last = state["messages"][-1]
        ok = last.response_metadata["trifecta"]["ok"]
        return {"messages": [AIMessage(f"checked={ok}")]}

    parent = StateGraph(MessagesState)
    parent.add_node("ask", ask)
    parent.add_node("trifecta", trifecta)
    parent.add_node("after", after)
    parent.add_edge(START, "ask")
    parent.add_edge("ask", "trifecta")
    parent.add_edge("trifecta", "after")
    parent.add_edge("after", END)
    out = await parent.compile().ainvoke({"messages": [HumanMessage("hello")]})
    texts = [m.content for m in out["messages"]]
    assert texts[:2] == ["hello", "What is 12*12?"]
    assert "144" in texts[2] and texts[3] == "checked=True"


async def test_progress_streams_on_the_custom_stream() -> None:
    graph = _math().graph().compile()
    kinds = [
        c["event"]
        async for c in graph.astream(
            {"request": "What is 2+2? Differentiate x^2."}, stream_mode="custom"
        )
    ]
    assert kinds[0] == "planned" and kinds[-1] == "merged"
    assert kinds.count("subtask") == 2
    assert kinds.count("attempt") >= 2 and kinds.count("verdict") >= 2


async def test_arun_forwards_events_and_langchain_callbacks() -> None:
    class Seen(BaseCallbackHandler):
        def __init__(self) -> None:
            self.chains: list[tuple[str, list[str]]] = []

        def on_chain_start(
            self, serialized: Any, inputs: Any, *, run_id: UUID, tags: Any = None, **kw: Any
        ) -> None:
            self.chains.append((kw.get("name") or "", list(tags or [])))

    seen, events = Seen(), []
    result = await _math().arun(
        "What is 2+2?",
        on_event=events.append,
        config={"callbacks": [seen], "tags": ["nb"], "metadata": {"user": "u1"}},
    )
    assert result.ok and events[0].kind == "planned"
    names = [n for n, _ in seen.chains]
    assert "LangGraph" in names and "plan" in names and "merge" in names
    assert all("nb" in tags for _, tags in seen.chains)


async def test_interrupt_in_a_solver_pauses_the_graph_and_resume_continues() -> None:
    def ask_human(job: Job) -> str:
        return str(interrupt({"question": f"answer for {job.instruction}?"}))

    spec = Specialist(
        "human",
        "Asks a person.",
        [FunctionSolver(ask_human)],
        lambda j, c: Verdict("verified", "person"),
        affinity=lambda c: 1.0,
    )
    graph = Trifecta([spec]).graph().compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "h"}}
    paused = await graph.ainvoke({"request": "Pick a colour."}, config)
    (asked,) = paused["__interrupt__"]
    assert asked.value == {"question": "answer for Pick a colour.?"}
    assert "answer" not in paused or not paused["answer"]
    done = await graph.ainvoke(Command(resume="blue"), config)
    assert done["results"]["t1"]["answer"] == "blue"
    assert done["results"]["t1"]["status"] == "verified"


def test_register_refuses_what_is_not_a_specialist() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    app = _math()
    with pytest.raises(TypeError, match="register\\(\\) takes a Specialist, not StructuredTool"):
        app.register(add)  # type: ignore[arg-type]


def _openai_app(url: str) -> Trifecta:
    model = OpenAIChatModel(
        "tiny", base_url=url, price=Price(1.0, 2.0), max_retries=0, privacy="local"
    )
    spec = Specialist(
        "ask",
        "Answers anything.",
        [_PricedSolver(model)],
        lambda j, c: Verdict("verified", "trusted"),
        affinity=lambda c: 1.0,
    )
    return Trifecta([spec])


async def test_openai_model_calls_are_chat_model_events_and_callbacks() -> None:
    class Seen(BaseCallbackHandler):
        def __init__(self) -> None:
            self.started: list[str] = []
            self.usage: list[dict[str, Any]] = []

        def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
            self.started.append(f"{kw.get('name')}: {messages[0][-1].content}")

        def on_llm_end(self, response: Any, **kw: Any) -> None:
            self.usage.append(response.llm_output["token_usage"])

    with serve_openai(lambda body: Scripted(completion("ANSWER"))) as server:
        app = _openai_app(server.url)
        events = [
            (e["event"], e["name"])
            async for e in app.graph()
            .compile()
            .astream_events({"request": "Say it."}, version="v2")
            if e["event"].startswith("on_chat_model")
        ]
        seen = Seen()
        result = await app.arun("Say it again.", config={"callbacks": [seen]})
    assert events == [("on_chat_model_start", "tiny"), ("on_chat_model_end", "tiny")]
    assert result.subtasks[0]["answer"] == "ANSWER"
    assert seen.started == ["tiny: Say it again."]
    assert seen.usage and set(seen.usage[0]) == {"input_tokens", "output_tokens", "total_tokens"}


def _flaky_model(failures: int) -> FunctionModel:
    left = [failures]

    def reply(messages: list[Message], info: Any) -> str:
        if left[0] > 0:
            left[0] -= 1
            raise ModelError("503 upstream unavailable")
        return "ANSWER"

    return FunctionModel(reply, name="flaky")


@pytest.mark.parametrize(
    ("failures", "retry", "status", "calls"),
    [
        (2, transient_retry(max_attempts=3, initial_interval=0.01), "verified", 3),
        (5, transient_retry(max_attempts=3, initial_interval=0.01), "unverifiable", 3),
        (1, None, "unverifiable", 1),
    ],
)
async def test_a_retry_policy_runs_the_node_again_on_transient_model_failures(
    failures: int, retry: Any, status: str, calls: int
) -> None:
    model = _flaky_model(failures)
    spec = Specialist(
        "ask",
        "Answers anything.",
        [_PricedSolver(model)],
        lambda j, c: Verdict("verified", "trusted"),
        affinity=lambda c: 1.0,
        retry=retry,
    )
    result = await Trifecta([spec]).arun("Say it.")
    row = result.subtasks[0]
    assert (row["status"], len(model.calls)) == (status, calls)
    if status == "unverifiable":  # the last attempt escalates as usual: no crash
        assert "503 upstream unavailable" in " ".join(row["evidence"])


async def test_sensitive_data_anywhere_in_the_conversation_keeps_cloud_models_away() -> None:
    """The planner sees earlier turns, so all of them are checked, not only the last."""
    cloud = FunctionModel(lambda m, i: {"subtasks": []}, name="planner", privacy="cloud")
    app = Trifecta(default_specialists(), planner=ModelPlanner(cloud, fallback=RulePlanner()))
    talk = [
        {"role": "user", "content": "My e-mail is ada@example.com, remember it."},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "What is 2+2?"},
    ]
    result = await app.arun(talk)
    state = await app.graph().compile().ainvoke({"messages": talk})
    assert [s["answer"] for s in result.subtasks] == ["4"] and state["sensitive"] == ["email"]
    assert cloud.calls == []


async def test_parallel_subtasks_that_stop_or_are_approved_together_do_not_crash() -> None:
    priced = FunctionModel(lambda m, i: "PAID", name="paid", price=Price(5.0, 5.0))
    spec = Specialist(
        "ask", "Answers.", [_PricedSolver(priced)], lambda j, c: Verdict("verified", "t"),
        affinity=lambda c: 1.0,
    )  # fmt: skip
    broke = Budget(max_cost_usd=0.0)
    stopped = await Trifecta([spec], budget=broke).arun("Say a. Say b.")
    assert "cost budget exhausted" in (stopped.stopped or "") and priced.calls == []
    gated = Trifecta([spec], budget=broke, approve=["budget"])
    paused = await gated.arun("Say a. Say b.", thread_id="two")
    assert [q["gate"] for q in paused.interrupts] == ["budget", "budget"]
    done = await gated.aresume("two", resume="yes")
    assert [s["answer"] for s in done.subtasks] == ["PAID", "PAID"] and not done.stopped


async def test_bad_graph_input_is_a_labelled_error_not_a_crash() -> None:
    graph = _math().graph().compile()
    assert "the request is empty" in (await graph.ainvoke({"request": 5}))["error"]  # type: ignore[typeddict-item]
    long_part = await graph.ainvoke({"request": "1+" * 5000 + "1"})
    assert "at most 8000 characters" in long_part["error"]
    nothing = await graph.ainvoke({"messages": []})
    assert "the request is empty" in nothing["error"]
    assert [m.type for m in nothing["messages"]] == ["ai"]  # no empty human message added


async def test_a_failing_callback_handler_never_fails_the_model_call() -> None:
    class Broken(BaseCallbackHandler):
        raise_error = True

        def on_llm_end(self, response: Any, **kw: Any) -> None:
            raise RuntimeError("handler broke")

    with serve_openai(lambda body: Scripted(completion("ANSWER"))) as server:
        result = await _openai_app(server.url).arun("Say it.", config={"callbacks": [Broken()]})
    assert result.subtasks[0]["answer"] == "ANSWER" and result.report["model_calls"] == 1


async def test_a_specialist_timeout_labels_the_subtask_instead_of_waiting() -> None:
    async def slow(job: Job) -> str:
        await asyncio.sleep(30)
        return "late"

    spec = Specialist(
        "slow", "Takes its time.", [FunctionSolver(slow)], lambda j, c: Verdict("verified", "t"),
        affinity=lambda c: 1.0, timeout=0.2,
    )  # fmt: skip
    result = await asyncio.wait_for(Trifecta([spec]).arun("Go."), 10)
    row = result.subtasks[0]
    assert row["status"] == "unverifiable" and row["errors"][-1]["rule"] == "timeout"
    assert "timeout of 0.2s" in row["errors"][-1]["message"]


async def test_a_sensitive_runs_text_never_reaches_callbacks() -> None:
    """Tracing (LangSmith or any handler) sees that a local model was called, not what
    a sensitive run sent it or got back."""

    class Seen(BaseCallbackHandler):
        def __init__(self) -> None:
            self.text: list[str] = []

        def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
            self.text += [m.content for m in messages[0]]

        def on_llm_end(self, response: Any, **kw: Any) -> None:
            self.text += [g.message.content for g in response.generations[0]]

    seen = Seen()
    with serve_openai(lambda body: Scripted(completion("Mail ada@example.com back."))) as server:
        result = await _openai_app(server.url).arun(
            "Write to ada@example.com.", config={"callbacks": [seen]}
        )
    assert result.subtasks[0]["answer"] == "Mail ada@example.com back."  # the run is unaffected
    assert seen.text and all("ada@example.com" not in t for t in seen.text)
    assert "[redacted: sensitive run]" in seen.text


async def test_the_bare_graphs_planner_call_is_held_to_the_budget() -> None:
    planner = FunctionModel(lambda m, i: {"subtasks": []}, name="planner", price=Price(5.0, 5.0))
    app = Trifecta(
        default_specialists(),
        planner=ModelPlanner(planner, fallback=RulePlanner()),
        budget=Budget(max_cost_usd=0.0),
    )
    state = await app.graph().compile().ainvoke({"request": "What is 2+2?"})
    assert "cost budget exhausted" in (state["stopped"] or "") and planner.calls == []
