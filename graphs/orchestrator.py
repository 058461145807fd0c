"""The orchestrator graph: plan → dispatch (parallel `Send`) → specialists → merge."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from trifecta.agents.merger import Merger
from trifecta.agents.planner import Planner
from trifecta.errors import UserError
from trifecta.graphs.nodes import (
    Defaults,
    dispatch,
    merge,
    node,
    plan,
    replan,
    run_subtask,
    state_spend,
)
from trifecta.graphs.state import InputState, OutputState, RunContext, RunState, TaskInput
from trifecta.plan import UNROUTED, fill_references
from trifecta.specialists.base import Specialist
from trifecta.verdict import ACCEPTED

__all__ = ["RESERVED_NODES", "Graph", "build_orchestrator", "route_ready"]

RESERVED_NODES = frozenset({"plan", "replan", "dispatch", "merge", UNROUTED, START, END})
Graph = StateGraph[RunState, RunContext, InputState, OutputState]


def build_orchestrator(
    *,
    planner: Planner,
    merger: Merger,
    specialists: Sequence[Specialist],
    max_subtasks: int = 64,
    max_replans: int = 1,
    defaults: Defaults | None = None,
) -> Graph:
    """Build the uncompiled orchestrator graph; the caller picks the checkpointer.

    One node per specialist; `dispatch` sends every ready subtask at once. `defaults`
    holds what a run uses when its context does not say (budgets, router, patterns).

    Raises:
        UserError: on a duplicate or reserved specialist name, or none at all.
    """
    _check_names(specialists)
    use = defaults or Defaults()
    graph = StateGraph(
        RunState, context_schema=RunContext, input_schema=InputState, output_schema=OutputState
    )
    planning = (planner, tuple(specialists), max_subtasks, use)
    graph.add_node("plan", node("plan", partial(plan, *planning)))
    graph.add_node("replan", node("replan", partial(replan, *planning)))
    graph.add_node("dispatch", node("dispatch", partial(dispatch, use)))
    for spec in specialists:
        graph.add_node(
            spec.name, node(spec.name, partial(run_subtask, spec, use)), retry_policy=spec.retry
        )
        graph.add_edge(spec.name, "dispatch")
    graph.add_node("merge", node("merge", partial(merge, merger, use)))
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "dispatch")
    graph.add_edge("replan", "dispatch")
    targets = [*(s.name for s in specialists), "replan", "merge"]
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


def route_ready(state: RunState, *, max_replans: int) -> list[Send] | Literal["replan", "merge"]:
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
        spend = state_spend(state)
        return [
            Send(
                s["specialist"],
                TaskInput(
                    id=s["id"],
                    instruction=fill_references(s["instruction"], accepted),
                    spend=spend,
                ),
            )
            for s in ready
        ]
    if len(accepted) < len(results) and state.get("replans", 0) < max_replans:
        return "replan"
    return "merge"
