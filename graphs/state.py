"""The graph state and its reducers, plus the per-run context."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

from trifecta.ledger import Ledger, LedgerEntry
from trifecta.plan import SubtaskSpec
from trifecta.routing import Router
from trifecta.verdict import Result

__all__ = ["Event", "RunContext", "RunState", "TaskInput", "longest", "merge_results"]


def merge_results(left: dict[str, Result], right: dict[str, Result]) -> dict[str, Result]:
    """Reducer: results of parallel subtasks merge by subtask id."""
    return {**left, **right}


def longest(left: float, right: float) -> float:
    """Reducer for the thread's wall time: parallel nodes report overlapping spans."""
    return max(left, right)


class RunState(TypedDict, total=False):
    """State of one run (one LangGraph thread)."""

    request: str
    sensitive: list[str]
    subtasks: Annotated[list[SubtaskSpec], operator.add]
    results: Annotated[dict[str, Result], merge_results]
    ledger: Annotated[list[LedgerEntry], operator.add]
    replans: int
    error: str | None
    stopped: str | None
    answer: str
    wall_s: Annotated[float, longest]


class TaskInput(TypedDict):
    """What `Send` hands a specialist node: one subtask with `$id`s filled in."""

    id: str
    instruction: str


@dataclass(frozen=True)
class Event:
    """A progress event: ``planned`` (subtasks), ``subtask`` (a result), ``merged``."""

    kind: Literal["planned", "subtask", "merged"]
    data: Any


@dataclass
class RunContext:
    """Per-run objects handed to nodes through LangGraph's runtime context."""

    ledger: Ledger
    on_event: Callable[[Event], None] | None = None
    router: Router | None = None

    def emit(self, kind: Literal["planned", "subtask", "merged"], data: Any) -> None:
        """Report progress, if anyone listens."""
        if self.on_event is not None:
            self.on_event(Event(kind, data))
