"""Graph topology snapshot and the pure routing function."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langgraph.types import Send

from tests.fakes import upper_specialist
from trifecta.agents import RulePlanner, TemplateMerger
from trifecta.graphs import build_orchestrator, route_ready
from trifecta.graphs.state import RunState
from trifecta.ledger import LedgerEntry
from trifecta.verdict import Result

SNAPSHOT = Path(__file__).parent / "snapshots" / "orchestrator.mmd"


def test_mermaid_snapshot() -> None:
    """Wiring changes show up here; regenerate with TRIFECTA_UPDATE_SNAPSHOTS=1."""
    graph = build_orchestrator(
        planner=RulePlanner(),
        merger=TemplateMerger(),
        specialists=[upper_specialist("math"), upper_specialist("sql"), upper_specialist("rag")],
    )
    drawing = graph.compile().get_graph().draw_mermaid()
    if os.environ.get("TRIFECTA_UPDATE_SNAPSHOTS"):
        if os.environ.get("CI"):
            pytest.fail(
                "TRIFECTA_UPDATE_SNAPSHOTS is set under CI: snapshots are only updated by hand"
            )
        SNAPSHOT.write_text(drawing)
    assert drawing == SNAPSHOT.read_text()


def _result(id_: str, status: str, answer: str = "a") -> Result:
    return Result(
        id=id_, specialist="s", instruction="i", status=status, answer=answer,  # type: ignore[typeddict-item]
        method="m", evidence=[], errors=[], tier=0, solver="x", attempts=1, elapsed_s=0.0, data={},
    )  # fmt: skip


def _state(**kw: object) -> RunState:
    base: dict[str, object] = {
        "request": "r",
        "subtasks": [
            {"id": "a", "specialist": "s1", "instruction": "x", "depends_on": []},
            {"id": "b", "specialist": "s2", "instruction": "y", "depends_on": []},
            {"id": "c", "specialist": "s1", "instruction": "use $a", "depends_on": ["a"]},
        ],
        "results": {},
        "turn": {"entries_from": 0, "started_at": 100.0, "wall_before_s": 0.0},
    }
    base.update(kw)
    return base  # type: ignore[return-value]


def test_route_sends_every_ready_subtask_at_once() -> None:
    sends = route_ready(_state(), max_replans=1)
    assert isinstance(sends, list)
    assert [(s.node, s.arg["id"]) for s in sends] == [("s1", "a"), ("s2", "b")]


def test_route_fills_references_once_dependencies_are_accepted() -> None:
    sends = route_ready(
        _state(results={"a": _result("a", "verified", "42"), "b": _result("b", "checked")}),
        max_replans=1,
    )
    spend = {
        "tokens_before": 0, "cost_before_usd": 0, "wall_before_s": 0.0, "tokens": 0,
        "cost_usd": 0, "started_at": 100.0, "sensitive": [], "lifted": False,
    }  # fmt: skip
    assert sends == [Send("s1", {"id": "c", "instruction": "use 42", "spend": spend})]


def test_sends_carry_what_the_thread_spent_before_and_in_this_turn() -> None:
    """A bare graph (no ledger in the context) rebuilds each node's ledger from this."""
    entries = [_entry(100, 0.5), _entry(30, 0.25), _entry(7, 0.125)]
    turn = {"entries_from": 2, "started_at": 50.0, "wall_before_s": 3.5}
    sends = route_ready(_state(ledger=entries, turn=turn, sensitive=["email"]), max_replans=1)
    assert isinstance(sends, list)
    assert sends[0].arg["spend"] == {
        "tokens_before": 130, "cost_before_usd": 0.75, "wall_before_s": 3.5, "tokens": 7,
        "cost_usd": 0.125, "started_at": 50.0, "sensitive": ["email"], "lifted": False,
    }  # fmt: skip


def _entry(tokens: int, cost: float) -> LedgerEntry:
    return LedgerEntry(
        kind="model", node="n", specialist=None, subtask=None, model="m", tokens_in=tokens,
        tokens_out=0, cost_usd=cost, latency_s=0.0, verdict=None, detail="ok",
    )  # fmt: skip


def test_route_replans_failures_within_the_bound_then_merges() -> None:
    results = {"a": _result("a", "rejected"), "b": _result("b", "verified")}
    assert route_ready(_state(results=results), max_replans=1) == "replan"
    assert route_ready(_state(results=results, replans=1), max_replans=1) == "merge"


def test_route_merges_on_error_or_stop() -> None:
    assert route_ready(_state(error="bad plan"), max_replans=1) == "merge"
    assert route_ready(_state(stopped="token budget exhausted"), max_replans=1) == "merge"
