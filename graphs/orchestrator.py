"""The orchestrator graph: plan → dispatch (parallel `Send`) → specialists → merge."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from trifecta.agents.merger import MergeInput, Merger
from trifecta.agents.planner import Planner, PlanRequest
from trifecta.errors import UserError
from trifecta.graphs.escalation import run_specialist
from trifecta.graphs.state import RunContext, RunState, TaskInput
from trifecta.ledger import BudgetExceeded
from trifecta.models import ModelError
from trifecta.plan import PlanError, fill_references
from trifecta.specialists.base import Specialist
from trifecta.verdict import ACCEPTED

__all__ = ["RESERVED_NODES", "build_orchestrator", "route_ready"]

RESERVED_NODES = frozenset({"plan", "dispatch", "merge", START, END})


def build_orchestrator(
    *,
    planner: Planner,
    merger: Merger,
    specialists: Sequence[Specialist],
    max_subtasks: int = 64,
    max_replans: int = 1,
) -> StateGraph[RunState, RunContext, RunState, RunState]:
    """Build the uncompiled orchestrator graph; the caller picks the checkpointer.

    One node per specialist; `dispatch` sends every ready subtask at once.

    Raises:
        ValueError: on a duplicate or reserved specialist name, or none at all.
    """
    _check_names(specialists)
    graph = StateGraph(RunState, context_schema=RunContext)
    graph.add_node("plan", partial(_plan, planner, tuple(specialists), max_subtasks))
    graph.add_node("dispatch", _dispatch)
    for spec in specialists:
        graph.add_node(spec.name, partial(_run_subtask, spec))
        graph.add_edge(spec.name, "dispatch")
    graph.add_node("merge", partial(_merge, merger))
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "dispatch")
    targets = [*(s.name for s in specialists), "plan", "merge"]
    graph.add_conditional_edges("dispatch", partial(route_ready, max_replans=max_replans), targets)
    graph.add_edge("merge", END)
    return graph


def _check_names(specialists: Sequence[Specialist]) -> None:
    names = [s.name for s in specialists]
    if not names:
        raise UserError("at least one specialist is required")
    clash = sorted({n for n in names if n in RESERVED_NODES or names.count(n) > 1})
    if clash:
        raise UserError(
            f"specialist names must be unique and not {sorted(RESERVED_NODES)}: {clash}"
        )


def route_ready(state: RunState, *, max_replans: int) -> list[Send] | Literal["plan", "merge"]:
    """Send every subtask whose dependencies are accepted; re-plan or merge when none.

    Pure: decides from the state alone.
    """
    if state.get("error") or state.get("stopped"):
        return "merge"
    results = state.get("results", {})
    accepted = {i: r["answer"] for i, r in results.items() if r["status"] in ACCEPTED}
    ready = [
        s
        for s in state.get("subtasks", [])
        if s["id"] not in results and all(d in accepted for d in s["depends_on"])
    ]
    if ready:
        return [
            Send(
                s["specialist"],
                TaskInput(id=s["id"], instruction=fill_references(s["instruction"], accepted)),
            )
            for s in ready
        ]
    if len(accepted) < len(results) and state.get("replans", 0) < max_replans:
        return "plan"
    return "merge"


async def _plan(
    planner: Planner,
    specialists: Sequence[Specialist],
    max_subtasks: int,
    state: RunState,
    runtime: Runtime[RunContext],
) -> dict[str, Any]:
    ctx = runtime.context
    existing = state.get("subtasks", [])
    request = PlanRequest(
        state["request"], specialists, max_subtasks, existing, state.get("results", {})
    )
    update: dict[str, Any] = {"replans": state.get("replans", 0) + 1} if existing else {}
    with ctx.ledger.capture() as entries:
        try:
            specs = await planner.plan(request, ctx.ledger)
            update["subtasks"] = specs
            ctx.emit("planned", specs)
        except BudgetExceeded as exc:
            update["stopped"] = exc.reason
        except (PlanError, ModelError) as exc:
            if not existing:
                update["error"] = f"could not plan the request: {exc}"
    update["ledger"] = entries
    return update


async def _dispatch(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ledger = runtime.context.ledger
    update: dict[str, Any] = {"wall_s": ledger.thread_wall_s()}
    try:
        ledger.check()
    except BudgetExceeded as exc:
        update["stopped"] = exc.reason
    return update


async def _run_subtask(
    spec: Specialist, task: TaskInput, runtime: Runtime[RunContext]
) -> dict[str, Any]:
    ctx = runtime.context
    with ctx.ledger.capture() as entries:
        outcome = await run_specialist(
            spec, task["id"], task["instruction"], ctx.ledger, ctx.router
        )
    ctx.emit("subtask", outcome.result)
    update: dict[str, Any] = {
        "results": {task["id"]: outcome.result},
        "ledger": entries,
        "wall_s": ctx.ledger.thread_wall_s(),
    }
    if outcome.stopped:
        update["stopped"] = outcome.stopped
    return update


async def _merge(merger: Merger, state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    merge_input = MergeInput(
        request=state["request"],
        subtasks=state.get("subtasks", []),
        results=state.get("results", {}),
        error=state.get("error"),
        stopped=state.get("stopped"),
    )
    with ctx.ledger.capture() as entries:
        answer = await merger.merge(merge_input, ctx.ledger)
    ctx.emit("merged", answer)
    return {"answer": answer, "ledger": entries, "wall_s": ctx.ledger.thread_wall_s()}
