"""The graph's schemas (state, input, output, context) and their reducers.

A thread is a conversation: `messages`, `history`, `ledger`, `sensitive` and `wall_s`
span every turn; `request`, `subtasks`, `results`, `replans`, `error`, `stopped` and
`answer` belong to the current turn and are reset when the next one starts.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import ConfigDict, with_config
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypedDict

from trifecta.ledger import Budget, Ledger, LedgerEntry, Spend
from trifecta.plan import SubtaskSpec, Turn
from trifecta.verdict import Result

__all__ = [
    "Event",
    "EventKind",
    "InputState",
    "OutputState",
    "RunContext",
    "RunState",
    "TaskInput",
    "Turn",
    "TurnMark",
    "first_reason",
    "longest",
    "merge_results",
]


def merge_results(left: dict[str, Result], right: dict[str, Result]) -> dict[str, Result]:
    """Reducer: results of parallel subtasks merge by subtask id."""
    return {**left, **right}


def first_reason(left: str | None, right: str | None) -> str | None:
    """Reducer: the first reason a turn stopped wins (parallel subtasks may each stop);
    an empty string clears it (a new turn). (`Overwrite` would not do: LangGraph stores
    the first write to an empty channel as it is.)"""
    return None if right == "" else left or right


def longest(left: float, right: float) -> float:
    """Reducer for the thread's wall time: parallel nodes report overlapping spans."""
    return max(left, right)


class TurnMark(TypedDict):
    """Where the current turn began: its first ledger entry, its start (epoch seconds)
    and the thread's wall time before it."""

    entries_from: int
    started_at: float
    wall_before_s: float


class InputState(TypedDict, total=False):
    """What a run takes: a `request`, or `messages` whose last human message is the
    request (earlier messages are the conversation)."""

    request: str
    messages: Annotated[list[AnyMessage], add_messages]


class OutputState(TypedDict, total=False):
    """What a run returns: the answer, the answer appended to `messages` as an
    `AIMessage` (its ``response_metadata["trifecta"]`` holds subtasks and report), the
    plan, every result, the ledger, why it stopped early (if it did), and the
    conversation's finished turns (`history`)."""

    request: str
    answer: str
    messages: Annotated[list[AnyMessage], add_messages]
    subtasks: Annotated[list[SubtaskSpec], operator.add]
    results: Annotated[dict[str, Result], merge_results]
    ledger: Annotated[list[LedgerEntry], operator.add]
    error: str | None
    stopped: Annotated[str | None, first_reason]
    wall_s: Annotated[float, longest]
    sensitive: list[str]
    turn: TurnMark
    history: Annotated[list[Turn], operator.add]


class RunState(InputState, OutputState, total=False):
    """State of one thread (one LangGraph thread, one conversation)."""

    replans: int
    unbudgeted: Annotated[bool, operator.or_]
    """A person approved going over the budgets for the current turn."""


class TaskInput(TypedDict):
    """What `Send` hands a specialist node: one subtask with `$id`s filled in, and what
    the thread has spent (to rebuild the run's ledger when none is handed in)."""

    id: str
    instruction: str
    spend: Spend


EventKind = Literal["planned", "attempt", "verdict", "subtask", "merged", "interrupt"]


@dataclass(frozen=True)
class Event:
    """A progress event, also streamed as ``{"event": kind, "data": data}`` on LangGraph's
    ``custom`` stream: ``planned`` (subtasks), ``attempt`` (a routing decision),
    ``verdict`` (a check), ``subtask`` (a result), ``merged`` (the answer),
    ``interrupt`` (a question waiting for `Command(resume=...)`)."""

    kind: EventKind
    data: Any


@with_config(ConfigDict(arbitrary_types_allowed=True))
@dataclass
class RunContext:
    """The run's context (LangGraph ``context=``); every field is optional.

    Attributes:
        budget: this run's budget, instead of the `Trifecta` instance's.
        sensitive: treat the request as sensitive (no ``cloud`` model sees it).
        ledger: a ledger to record into (`Trifecta.arun` passes one with its audit
            hooks); without one, each node rebuilds the run's ledger from the state.
    """

    budget: Budget | None = None
    sensitive: bool = False
    ledger: SkipJsonSchema[Ledger | None] = None
