"""The specialist protocol: tiers of solvers, a deterministic verifier, and the
bounded solve → verify → repair → escalate loop."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from langgraph.types import RetryPolicy

from trifecta.errors import TrifectaError
from trifecta.ledger import Ledger
from trifecta.models import ChatModel, Message, ModelError, ModelOutputError, OutputSchema
from trifecta.verdict import CheckError, Verdict

T = TypeVar("T")

__all__ = [
    "Candidate",
    "CannotSolve",
    "FunctionSolver",
    "Job",
    "ModelSolver",
    "Solver",
    "Specialist",
    "Verifier",
    "call_off_loop",
    "is_transient",
    "transient_retry",
]


@dataclass(frozen=True)
class Candidate:
    """A solver's proposed answer; `payload` carries what the verifier checks
    (claims, a SQL query, citations)."""

    answer: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One attempt at one subtask, as a solver sees it."""

    subtask: str
    specialist: str
    instruction: str
    tier: int
    attempt: int
    feedback: tuple[CheckError, ...] = ()
    previous: Candidate | None = None


class CannotSolve(TrifectaError):
    """Raised by a solver that does not handle this instruction (next tier runs)."""


class Solver(Protocol):
    """One tier of a specialist."""

    @property
    def name(self) -> str:
        """Shown in reports (a model's name, or e.g. ``sympy``)."""
        ...

    @property
    def repairable(self) -> bool:
        """Whether feeding back errors can change its answer (models: yes)."""
        ...

    async def solve(self, job: Job, ledger: Ledger) -> Candidate:
        """Propose an answer, or raise `CannotSolve`."""
        ...


Verifier = Callable[[Job, Candidate], Verdict | Awaitable[Verdict]]


@dataclass(frozen=True)
class Specialist:
    """A named capability: the planner sees `name` and `description`; the framework
    tries `tiers` in order (cheapest first) and accepts only what `verify` passes.
    Sync `verify` and `affinity` functions run in worker threads.

    Args:
        name: unique, used as the graph node name.
        description: one line the planner reads to route subtasks.
        tiers: solvers, cheapest first; tier 0 is usually deterministic.
        verify: the deterministic check of a candidate.
        affinity: scores a request clause 0..1 for the offline planner.
        max_attempts: attempts per repairable tier (first try plus repairs).
        agree: when set, a `checked` result is confirmed by one independent
            generation from a later tier; if ``agree(first.data, second.data)``
            the result becomes `verified` (e.g. two queries return the same rows).
        retry: a LangGraph `RetryPolicy` for the specialist's node. Until its last
            attempt, a tier's model or network failure (`ModelError` other than an
            unusable reply, `TimeoutError`) leaves the node and LangGraph runs it again
            after its back-off; on the last attempt the failure escalates to the next
            tier as usual. `transient_retry()` builds one. Wrong answers never retry
            the node: they are repaired and escalated inside it.
        timeout: seconds the whole escalation of one subtask may take; past it the
            subtask is labelled with what it had (a sync solver already running in a
            worker thread finishes in the background).
    """

    name: str
    description: str
    tiers: Sequence[Solver]
    verify: Verifier
    affinity: Callable[[str], float] | None = None
    max_attempts: int = 3
    agree: Callable[[dict[str, Any], dict[str, Any]], bool] | None = None
    retry: RetryPolicy | None = None
    timeout: float | None = None


def is_transient(exc: Exception) -> bool:
    """A model or network failure worth running the node again for (not a reply that
    could not be used: that one is repaired or escalated)."""
    return isinstance(exc, ModelError | TimeoutError) and not isinstance(exc, ModelOutputError)


def transient_retry(
    max_attempts: int = 3, initial_interval: float = 0.5, backoff_factor: float = 2.0
) -> RetryPolicy:
    """A `RetryPolicy` that runs a specialist's node again on transient model or
    network failures (`is_transient`), with exponential back-off and jitter."""
    return RetryPolicy(
        initial_interval=initial_interval,
        backoff_factor=backoff_factor,
        max_attempts=max_attempts,
        retry_on=is_transient,
    )


async def call_off_loop(fn: Callable[..., T | Awaitable[T]], *args: Any) -> T:
    """Call `fn`: a coroutine function on the event loop, anything else in a worker
    thread (so blocking or CPU-bound code never stalls the loop); an awaitable it
    returns is awaited."""
    out: T | Awaitable[T]
    if inspect.iscoroutinefunction(fn):
        out = fn(*args)
    else:
        out = await asyncio.to_thread(fn, *args)
    if inspect.isawaitable(out):
        return cast(T, await out)
    return out


@dataclass(frozen=True)
class FunctionSolver:
    """A solver backed by a plain function ``(job) -> str | Candidate`` (sync or
    async). A sync function runs in a worker thread, so independent subtasks stay
    parallel and the event loop stays free. Raise `CannotSolve` from it to pass to
    the next tier."""

    fn: Callable[[Job], str | Candidate | Awaitable[str | Candidate]]
    name: str = "function"
    repairable: bool = False

    async def solve(self, job: Job, ledger: Ledger) -> Candidate:
        """Call the function."""
        out: str | Candidate = await call_off_loop(self.fn, job)
        return out if isinstance(out, Candidate) else Candidate(answer=str(out))


@dataclass(frozen=True)
class ModelSolver:
    """A solver backed by a chat model with structured output.

    Args:
        model: the model.
        system: the system prompt.
        schema: the JSON schema of the reply.
        to_candidate: turns the parsed reply into a `Candidate` (raise
            `ModelOutputError` on a reply of the wrong shape).
        context: extra text appended to the instruction (e.g. a database schema).
    """

    model: ChatModel
    system: str
    schema: OutputSchema
    to_candidate: Callable[[Any], Candidate]
    context: Callable[[Job], str] | None = None
    repairable: bool = True

    @property
    def name(self) -> str:
        """The model's name."""
        return self.model.name

    async def solve(self, job: Job, ledger: Ledger) -> Candidate:
        """Ask the model, quoting the previous attempt's errors when repairing."""
        user = (
            job.instruction if self.context is None else f"{job.instruction}\n\n{self.context(job)}"
        )
        messages = [Message("system", self.system), Message("user", user)]
        if job.feedback:
            messages += _repair_messages(job)
        reply = await ledger.call(
            self.model,
            messages,
            node=job.specialist,
            specialist=job.specialist,
            subtask=job.subtask,
            schema=self.schema,
        )
        return self.to_candidate(reply.data)


def _repair_messages(job: Job) -> list[Message]:
    previous = job.previous.answer if job.previous else "(no usable reply)"
    problems = "\n".join(f"- [{e['rule']}] {e['message']}" for e in job.feedback)
    return [
        Message("assistant", previous),
        Message("user", f"Your answer failed verification:\n{problems}\nFix it and reply again."),
    ]
