"""The orchestrator's nodes: plan, dispatch, one per specialist, merge.

Each node finds the run's ledger in the context (`Trifecta.arun` hands one in, with
its audit hooks) or rebuilds it from the state, so the compiled graph also runs bare:
``graph.invoke({"request": ...})`` with no context, under any checkpointer or none.
Progress goes to LangGraph's ``custom`` stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph._internal._runnable import RunnableCallable
from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from trifecta.agents.merger import MergeInput, Merger
from trifecta.agents.planner import Planner, PlanRequest
from trifecta.approval import Approval, Gate, ask
from trifecta.graphs import _records as records
from trifecta.graphs._sync import run_sync
from trifecta.graphs.escalation import run_specialist
from trifecta.graphs.rows import subtask_rows
from trifecta.graphs.state import EventKind, RunContext, RunState, TaskInput, TurnMark
from trifecta.ledger import Budget, BudgetExceeded, Ledger, LedgerEntry, Spend, report_of
from trifecta.linear_re import INLINE_CHARS
from trifecta.models import ModelError
from trifecta.plan import UNROUTED, PlanError, SubtaskSpec, Turn
from trifecta.privacy import find_sensitive
from trifecta.routing import Router
from trifecta.specialists.base import Specialist
from trifecta.verdict import ACCEPTED, Result, check_error

__all__ = ["Defaults", "dispatch", "merge", "node", "plan", "replan", "run_subtask", "state_spend"]


@dataclass(frozen=True)
class Defaults:
    """What a run uses when its context does not say: the `Trifecta` instance's
    budgets, router, sensitive patterns and request limit."""

    budget: Budget = field(default_factory=Budget)
    thread_budget: Budget = field(default_factory=Budget)
    router: Router | None = None
    sensitive_patterns: tuple[str, ...] = ()
    max_request_chars: int = 20_000
    approve: frozenset[Gate] = frozenset()
    """The approval gates that are on (`trifecta.approval`)."""


def node(name: str, afunc: Callable[..., Coroutine[Any, Any, dict[str, Any]]]) -> RunnableCallable:
    """A node LangGraph can run from `invoke` (on a loop of its own) and `ainvoke`."""

    def func(state: Any, runtime: Runtime[RunContext]) -> dict[str, Any]:
        return run_sync(afunc(state, runtime))

    async def wrapped(state: Any, runtime: Runtime[RunContext]) -> dict[str, Any]:
        return await afunc(state, runtime)

    return RunnableCallable(func, wrapped, name=name, trace=False)


def _context(runtime: Runtime[RunContext]) -> RunContext:
    return runtime.context if isinstance(runtime.context, RunContext) else RunContext()


def _emit(runtime: Runtime[RunContext], kind: EventKind, data: Any) -> None:
    runtime.stream_writer({"event": kind, "data": data})


def _listener(runtime: Runtime[RunContext]) -> Callable[[LedgerEntry], None]:
    def listen(entry: LedgerEntry) -> None:
        if entry["kind"] == "route":
            _emit(runtime, "attempt", entry)
        elif entry["kind"] == "check":
            _emit(runtime, "verdict", entry)

    return listen


def state_spend(state: RunState) -> Spend:
    """What the thread spent before the current turn and in it (from the state)."""
    entries = state.get("ledger", [])
    mark = state.get("turn") or TurnMark(
        entries_from=len(entries), started_at=time.time(), wall_before_s=state.get("wall_s", 0.0)
    )
    before, now = entries[: mark["entries_from"]], entries[mark["entries_from"] :]
    return Spend(
        tokens_before=sum(e["tokens_in"] + e["tokens_out"] for e in before),
        cost_before_usd=sum(e["cost_usd"] for e in before),
        wall_before_s=mark["wall_before_s"],
        tokens=sum(e["tokens_in"] + e["tokens_out"] for e in now),
        cost_usd=sum(e["cost_usd"] for e in now),
        started_at=mark["started_at"],
        sensitive=list(state.get("sensitive", [])),
        lifted=state.get("unbudgeted") is True,  # not an `Overwrite` still in an update
    )


def _ledger(
    ctx: RunContext, defaults: Defaults, spend: Callable[[], Spend], lifted: bool = False
) -> Ledger:
    if ctx.ledger is None:
        return Ledger.from_spend(spend(), ctx.budget or defaults.budget, defaults.thread_budget)
    if lifted and not ctx.ledger.lifted:  # approved in another node or before a resume
        ctx.ledger.lift_budgets()
    return ctx.ledger


def _text(message: AnyMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(
        p if isinstance(p, str) else str(p.get("text") or "")
        for p in content
        if isinstance(p, str) or p.get("type") == "text"
    )


def _history(state: RunState) -> list[Turn]:
    """Earlier turns: trifecta's own while its answer is the last thing said, else (a
    conversation handed in as messages, or another agent spoke since) the human and
    assistant pairs before the last human message, with nothing marked verified."""
    messages = state.get("messages", [])[:-1]
    answers = [m for m in messages if isinstance(m, AIMessage)]
    if state.get("history") and (not answers or answers[-1].name == "trifecta"):
        return list(state.get("history", []))
    # someone else spoke last (another agent in a parent graph): the conversation as given
    turns: list[Turn] = []
    for asked, said in pairwise(messages):
        if isinstance(asked, HumanMessage) and isinstance(said, AIMessage):
            turns.append(Turn(request=_text(asked), answer=_text(said), verified={}, parts=0))
    return turns


async def _begin_turn(
    defaults: Defaults, ctx: RunContext, state: RunState
) -> tuple[str, dict[str, Any]]:
    """The new turn's request and the state that resets the last turn's plan."""
    messages = state.get("messages", [])
    update: dict[str, Any] = {}
    if messages and isinstance(messages[-1], HumanMessage):
        request = _text(messages[-1]).strip()
    else:
        given = state.get("request")
        request = given.strip() if isinstance(given, str) else ""
        if request:
            update["messages"] = [HumanMessage(request)]
    # everything the planner may see: the request and the whole conversation so far
    seen = "\n".join([request, *(_text(m) for m in messages)])
    found = (
        find_sensitive(seen, defaults.sensitive_patterns)
        if len(seen) <= INLINE_CHARS
        else await asyncio.to_thread(find_sensitive, seen, defaults.sensitive_patterns)
    )
    flags = ["requested"] if ctx.sensitive else []
    sensitive = list(dict.fromkeys([*state.get("sensitive", []), *found, *flags]))
    entries = state.get("ledger", [])
    update |= {
        "request": request,
        "sensitive": sensitive,
        "turn": TurnMark(
            entries_from=len(entries),
            started_at=time.time(),
            wall_before_s=state.get("wall_s", 0.0),
        ),
        "subtasks": Overwrite([]),
        "results": Overwrite({}),
        "replans": 0,
        "error": None,
        "stopped": "",  # clears it (`first_reason`)
        "answer": "",
        "unbudgeted": Overwrite(False),
    }
    return request, update


def _request_error(request: str, limit: int) -> str | None:
    if not request:
        return "the request is empty"
    if len(request) > limit:
        return f"the request is {len(request):,} characters; the limit is {limit:,}"
    return None


async def plan(
    planner: Planner,
    specialists: Sequence[Specialist],
    max_subtasks: int,
    defaults: Defaults,
    state: RunState,
    runtime: Runtime[RunContext],
) -> dict[str, Any]:
    """Start a turn: read its request (``request``, or the last human message), mark it
    sensitive if it is, and plan its subtasks."""
    ctx = _context(runtime)
    request, update = await _begin_turn(defaults, ctx, state)
    problem = _request_error(request, defaults.max_request_chars)
    if problem:
        return {**update, "error": f"could not plan the request: {problem}"}
    ledger = _ledger(ctx, defaults, lambda: state_spend({**state, **update}))  # type: ignore[typeddict-item]
    ledger.sensitive = update["sensitive"]
    ask = PlanRequest(request, specialists, max_subtasks, history=_history(state))
    return {**update, **await _ask(planner, ask, ledger, runtime, first=True)}


async def replan(
    planner: Planner,
    specialists: Sequence[Specialist],
    max_subtasks: int,
    defaults: Defaults,
    state: RunState,
    runtime: Runtime[RunContext],
) -> dict[str, Any]:
    """Re-plan the subtasks that failed (once per `max_replans`)."""
    ledger = _ledger(_context(runtime), defaults, lambda: state_spend(state))
    ask = PlanRequest(
        state.get("request", ""),
        specialists,
        max_subtasks,
        state.get("subtasks", []),
        state.get("results", {}),
        _history(state),
    )
    update = await _ask(planner, ask, ledger, runtime, first=False)
    return {**update, "replans": state.get("replans", 0) + 1}


async def _ask(
    planner: Planner, ask: PlanRequest, ledger: Ledger, runtime: Runtime[RunContext], *, first: bool
) -> dict[str, Any]:
    update: dict[str, Any] = {}
    with ledger.capture(_listener(runtime)) as entries:
        try:
            specs = await planner.plan(ask, ledger)
            update["subtasks"] = Overwrite(specs) if first else specs
            unrouted = {s["id"]: _unrouted(s) for s in specs if s["specialist"] == UNROUTED}
            if unrouted:
                update["results"] = Overwrite(unrouted) if first else unrouted
            _emit(runtime, "planned", specs)
            records.planned(specs, replan=not first, sensitive=ledger.sensitive)
        except BudgetExceeded as exc:
            update["stopped"] = exc.reason
        except (PlanError, ModelError) as exc:
            if first:
                update["error"] = f"could not plan the request: {exc}"
    update["ledger"] = entries
    return update


_UNROUTED_REASON = "no specialist recognises this; configure a model to plan it"


def _unrouted(spec: SubtaskSpec) -> Result:
    """The result of a subtask no specialist took: flagged, never run."""
    return Result(
        id=spec["id"],
        specialist=UNROUTED,
        instruction=spec["instruction"],
        status="unverifiable",
        answer="",
        method="not routed",
        evidence=[],
        errors=[check_error("plan", _UNROUTED_REASON)],
        tier=None,
        solver=None,
        attempts=0,
        elapsed_s=0.0,
        data={},
    )


async def dispatch(
    defaults: Defaults, state: RunState, runtime: Runtime[RunContext]
) -> dict[str, Any]:
    """Check the budget between steps (`route_ready` then sends the ready subtasks)."""
    ledger = _ledger(
        _context(runtime), defaults, lambda: state_spend(state), bool(state.get("unbudgeted"))
    )
    update: dict[str, Any] = {"wall_s": ledger.thread_wall_s()}
    try:
        ledger.check()
    except BudgetExceeded as exc:
        if "budget" in defaults.approve and _go_over(exc):
            ledger.lift_budgets()
            update["unbudgeted"] = True
        else:
            update["stopped"] = exc.reason
    return update


def _go_over(exc: BudgetExceeded) -> bool:
    question = Approval(
        gate="budget",
        question="Go over the budget to finish the request?",
        why=exc.reason,
        subtask=None,
        specialist=None,
    )
    return ask(question)


async def run_subtask(
    spec: Specialist, defaults: Defaults, task: TaskInput, runtime: Runtime[RunContext]
) -> dict[str, Any]:
    """Run one subtask through the specialist's tiers, checks and escalations."""
    ledger = _ledger(_context(runtime), defaults, lambda: task["spend"], task["spend"]["lifted"])
    info = runtime.execution_info
    attempt = info.node_attempt if info is not None else 1
    retrying = spec.retry is not None and attempt < spec.retry.max_attempts
    with ledger.capture(_listener(runtime)) as entries:
        outcome = await run_specialist(
            spec,
            task["id"],
            task["instruction"],
            ledger,
            defaults.router,
            defaults.approve,
            transient_raises=retrying,
        )
    _emit(runtime, "subtask", outcome.result)
    update: dict[str, Any] = {
        "results": {task["id"]: outcome.result},
        "ledger": entries,
        "wall_s": ledger.thread_wall_s(),
    }
    if outcome.stopped:
        update["stopped"] = outcome.stopped
    if ledger.lifted:
        update["unbudgeted"] = True
    return update


async def merge(
    merger: Merger, defaults: Defaults, state: RunState, runtime: Runtime[RunContext]
) -> dict[str, Any]:
    """Compose the answer from the accepted results; append it to the conversation."""
    ledger = _ledger(_context(runtime), defaults, lambda: state_spend(state))
    results = state.get("results", {})
    merge_input = MergeInput(
        request=state.get("request", ""),
        subtasks=state.get("subtasks", []),
        results=results,
        error=state.get("error"),
        stopped=state.get("stopped") or None,
    )
    with ledger.capture(_listener(runtime)) as entries:
        answer = await merger.merge(merge_input, ledger)
    _emit(runtime, "merged", answer)
    wall = ledger.thread_wall_s()
    mark = state.get("turn")
    turn_entries = [*state.get("ledger", [])[mark["entries_from"] if mark else 0 :], *entries]
    rows = subtask_rows(state, turn_entries)
    ok = (
        not state.get("error")
        and not state.get("stopped")
        and all(r["status"] in ACCEPTED for r in rows)
    )
    report = report_of(turn_entries, wall - (mark["wall_before_s"] if mark else 0.0))
    records.merged(answer, rows, report, ok, bool(ledger.sensitive))
    message = AIMessage(
        answer,
        name="trifecta",
        response_metadata={"trifecta": {"ok": ok, "subtasks": rows, "report": report}},
    )
    # only "verified": a follow-up's result is verified, so its input must be too
    verified = {i: r["answer"] for i, r in results.items() if r["status"] == "verified"}
    return {
        "answer": answer,
        "ledger": entries,
        "wall_s": wall,
        "messages": [message],
        "history": [
            Turn(
                request=state.get("request", ""),
                answer=answer,
                verified=verified,
                parts=len(state.get("subtasks", [])),
            )
        ],
    }
