"""How `Trifecta` drives its compiled graph: the run's options, the thread checks, the
stream that carries progress, and finding the checkpoint that ended a turn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from trifecta.approval import bind
from trifecta.errors import UserError
from trifecta.graphs.state import Event, InputState, OutputState, RunContext, RunState
from trifecta.ledger import Budget, LedgerEntry
from trifecta.result import RunResult, turn_of
from trifecta.telemetry import AttributeValue, run_scope

__all__ = [
    "App",
    "RequestError",
    "RunOptions",
    "answers",
    "asked",
    "check_thread",
    "detached",
    "paid_before_pause",
    "stream_run",
    "traced_run",
    "turn_end",
]

App = CompiledStateGraph[RunState, RunContext, InputState, OutputState]


class RequestError(UserError):
    """The request cannot be run (empty, too long, unknown or finished thread)."""


@contextmanager
def detached() -> Iterator[RunnableConfig]:
    """Inside the block, a run started from another graph's node or a tool is its own
    run on its own thread (not a subgraph of the caller's). Yields the caller's
    callbacks as a config to merge into the run's, so they still see it, nested under
    the calling step."""
    parent = var_child_runnable_config.get()
    token = var_child_runnable_config.set(None)
    try:
        yield {} if parent is None else {"callbacks": parent.get("callbacks")}
    finally:
        var_child_runnable_config.reset(token)


@contextmanager
def traced_run(
    thread_id: str, *, resume: bool, content: bool
) -> Iterator[Callable[[RunResult], RunResult]]:
    """The run's telemetry scope (`trifecta.telemetry.run_scope`): its records carry the
    thread id; when traced, its root span ends with the result's totals. Yields the
    function that hands the result back through the root span."""
    start: dict[str, AttributeValue] = {
        "gen_ai.conversation.id": thread_id,
        "trifecta.resumed": resume,
    }
    with run_scope(thread_id, content=content, attributes=start) as root:

        def finish(result: RunResult) -> RunResult:
            if root is not None:
                root.set_attributes(_totals(result))
            return result

        yield finish


def _totals(result: RunResult) -> dict[str, AttributeValue]:
    """The root span's ``trifecta.*`` and usage attributes at the end of a run."""
    report = result.report
    totals: dict[str, AttributeValue] = {
        "trifecta.ok": result.ok,
        "trifecta.turn": result.turn,
        "trifecta.subtasks": len(result.subtasks),
        "trifecta.pending": result.pending,
        "trifecta.cost_usd": report["cost_usd"],
        "gen_ai.usage.input_tokens": report["tokens_in"],
        "gen_ai.usage.output_tokens": report["tokens_out"],
    }
    for row in result.subtasks:
        key = f"trifecta.subtasks.{row['status']}"
        totals[key] = int(totals.get(key, 0)) + 1
    if result.stopped:
        totals["trifecta.stopped"] = result.stopped
    if result.error:  # its words may quote the plan: only that there is one
        totals["trifecta.error"] = True
    return totals


def asked(payload: InputState | Command[Any] | None) -> str | None:
    """The request text a payload carries (None for a resume)."""
    if not isinstance(payload, dict):
        return None
    if "request" in payload:
        return payload["request"]
    return payload["messages"][-1].text


async def turn_end(
    app: App, config: RunnableConfig, latest: StateSnapshot, turn: int
) -> StateSnapshot | None:
    """The checkpoint that finished `turn` (the latest when it is that one)."""

    def finished(snapshot: StateSnapshot) -> bool:
        values = cast(RunState, snapshot.values)
        return turn_of(values) == turn and bool(values.get("answer")) and not snapshot.next

    if finished(latest):
        return latest
    async for snapshot in app.aget_state_history(config):
        if finished(snapshot):
            return snapshot
    return None


@dataclass(frozen=True)
class RunOptions:
    budget: Budget | None
    on_event: Callable[[Event], None] | None
    sensitive: bool
    config: RunnableConfig | None


async def stream_run(
    app: App,
    payload: InputState | Command[Any] | None,
    config: RunnableConfig,
    context: RunContext,
    emit: Callable[[Event], None] | None,
) -> tuple[RunState, list[Any]]:
    """Run the graph, handing its ``custom`` stream (progress) to `emit`. Returns the
    last ``values`` chunk (the state) and the values of the interrupts it paused on."""
    state: Any = {}
    seen: dict[str, Any] = {}
    async for mode, chunk in app.astream(
        payload, config, context=context, stream_mode=["custom", "values"]
    ):
        if mode == "values" and isinstance(chunk, dict) and "__interrupt__" in chunk:
            for pause in chunk["__interrupt__"]:  # one chunk per paused task
                seen.setdefault(pause.id, pause.value)
            state = {k: v for k, v in chunk.items() if k != "__interrupt__"} or state
        elif mode == "values":
            state = chunk
        elif emit is not None and isinstance(chunk, dict) and "event" in chunk:
            emit(Event(chunk["event"], chunk.get("data")))
    asked = list(seen.values())
    if emit is not None:
        for question in asked:
            emit(Event("interrupt", question))
    return cast(RunState, state), asked


def answers(snapshot: StateSnapshot, resume: Any) -> Any:
    """`resume` for the questions the thread waits on, by interrupt id, each answer
    bound to its question (`trifecta.approval.bind`): a list answers them in order, one
    value answers all."""
    waiting = list(snapshot.interrupts)
    if not waiting:
        return resume
    if isinstance(resume, list):
        if len(resume) != len(waiting):
            raise RequestError(f"{len(resume)} answer(s) for {len(waiting)} question(s)")
        given = list(resume)
    else:
        given = [resume] * len(waiting)
    return {i.id: bind(i.value, a) for i, a in zip(waiting, given, strict=True)}


def paid_before_pause(snapshot: StateSnapshot) -> list[LedgerEntry]:
    """The ledger entries the paused steps recorded before they asked (`Approval.spent`):
    they are lost with the step's update, and the step runs again on resume."""
    return [
        entry
        for pause in snapshot.interrupts
        if isinstance(pause.value, dict)
        for entry in pause.value.get("spent", [])
    ]


def check_thread(thread_id: str, exists: bool, pending: bool, resume: bool) -> None:
    if resume and not exists:
        raise RequestError(f"no run with thread id {thread_id!r} in this checkpoint store")
    if not resume and pending:
        raise RequestError(f"thread {thread_id!r} already holds a run; resume it")
