"""The ledger: every model call and check of a run, its totals, and its budgets."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from trifecta.errors import RunError
from trifecta.models import ChatModel, Message, ModelReply, OutputSchema, Usage
from trifecta.models._callbacks import redacted
from trifecta.privacy import PrivacyViolation
from trifecta.telemetry import add_cost, log_content, log_extra, span
from trifecta.verdict import CheckError

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = [
    "AttemptOutcome",
    "Budget",
    "BudgetExceeded",
    "Ledger",
    "LedgerEntry",
    "Report",
    "RouteCode",
    "RouteRecord",
    "Spend",
    "captured",
    "report_of",
]


AttemptOutcome = Literal["rejected", "error", "not applicable"]
"""What a tier that did not answer did: its answer failed the check, it failed, or it
could not take the task."""

RouteCode = Literal["first", "escalated", "next", "confirmation"]
"""Why a tier runs: it is the first tried; the tier before it answered wrongly or failed
(``escalated``); the tier before could not take the task (``next``); or it gives an
independent second answer to confirm a checked one (``confirmation``)."""


class RouteRecord(TypedDict):
    """One routing decision, as data: nothing reads it back out of text."""

    tier: int
    solver: str
    calls_model: bool
    code: RouteCode
    from_tier: int | None
    from_solver: str | None
    from_outcome: AttemptOutcome | None
    reason: str


class LedgerEntry(TypedDict):
    """One model call, check or routing decision (``route`` holds the decision).

    ``started_at`` is when it began (epoch seconds; entries checkpointed before it was
    kept lack it); a check also keeps its verdict's ``evidence`` and ``errors``, so
    every attempt, not only the last, can be shown.
    """

    kind: Literal["model", "check", "route"]
    node: str
    specialist: str | None
    subtask: str | None
    model: str | None
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_s: float
    verdict: str | None
    detail: str
    route: NotRequired[RouteRecord]
    started_at: NotRequired[float]
    evidence: NotRequired[list[str]]
    errors: NotRequired[list[CheckError]]


class Report(TypedDict):
    """A run's totals."""

    tokens_in: int
    tokens_out: int
    cost_usd: float
    wall_s: float
    model_calls: int
    checks: int


class Spend(TypedDict):
    """What a thread spent before this run and in it so far, and whether it is
    sensitive: enough to rebuild the run's ledger in another node or process."""

    tokens_before: int
    cost_before_usd: float
    wall_before_s: float
    tokens: int
    cost_usd: float
    started_at: float
    """When the run started (epoch seconds)."""
    sensitive: list[str]
    lifted: bool
    """A person approved going over the budgets for this run."""


@with_config(ConfigDict(extra="forbid", revalidate_instances="always"))
@dataclass(frozen=True)
class Budget:
    """Token, cost and wall-time limits; None means unlimited. The same type serves
    for one run (one `arun` or `aresume`) and for a thread (every run on it)."""

    max_tokens: Annotated[int, Field(ge=0)] | None = None
    max_cost_usd: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    max_wall_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None


class BudgetExceeded(RunError):
    """Raised before a call that the budget does not allow; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_log = logging.getLogger("trifecta.model")

_Listener = Callable[[LedgerEntry], None]
_capture: ContextVar[tuple[list[LedgerEntry], _Listener | None] | None] = ContextVar(
    "trifecta_ledger_capture", default=None
)


class Ledger:
    """Records a run's calls and enforces its budgets.

    One ledger lives for one run (an `arun`, or an `aresume` of the same thread).
    `entries` and `thread_wall_s` are what earlier runs on the thread spent: they
    count against `thread_budget`, not against `budget`. Graph nodes wrap their work
    in `capture()` so the entries they produce also travel in the graph state (and
    its checkpoints).
    """

    def __init__(
        self,
        budget: Budget | None = None,
        entries: Iterable[LedgerEntry] = (),
        on_call: Callable[[LedgerEntry, Sequence[Message], ModelReply | None], None] | None = None,
        sensitive: Sequence[str] = (),
        on_route: Callable[[LedgerEntry], None] | None = None,
        thread_budget: Budget | None = None,
        thread_wall_s: float = 0.0,
    ) -> None:
        self.budget = budget or Budget()
        self.thread_budget = thread_budget or Budget()
        self.on_call = on_call
        self.on_route = on_route
        self.sensitive = list(sensitive)
        self.lifted = False
        self.entries: list[LedgerEntry] = []
        self._tokens_in = self._tokens_out = self._model_calls = self._checks = 0
        self._cost = 0.0
        for entry in entries:
            self.record(entry)
        self._prior_tokens = self._tokens_in + self._tokens_out
        self._prior_cost = self._cost
        self._prior_wall = thread_wall_s
        self._started = time.monotonic()
        self._started_at = time.time()

    @classmethod
    def from_spend(
        cls, spend: Spend, budget: Budget | None = None, thread_budget: Budget | None = None
    ) -> Ledger:
        """A ledger that continues a run another node or process started (`spend()`):
        its totals and budgets carry on; its `entries` are only the new ones."""
        ledger = cls(budget, sensitive=spend["sensitive"], thread_budget=thread_budget)
        ledger._prior_tokens, ledger._prior_cost = spend["tokens_before"], spend["cost_before_usd"]
        ledger._tokens_in = spend["tokens_before"] + spend["tokens"]
        ledger._cost = spend["cost_before_usd"] + spend["cost_usd"]
        ledger._prior_wall = spend["wall_before_s"]
        ledger._started_at = spend["started_at"]
        ledger._started = time.monotonic() - max(0.0, time.time() - spend["started_at"])
        if spend["lifted"]:
            ledger.lift_budgets()
        return ledger

    def lift_budgets(self) -> None:
        """Drop the run and thread budgets for the rest of this run (a person approved)."""
        self.budget, self.thread_budget, self.lifted = Budget(), Budget(), True

    def spend(self) -> Spend:
        """What `from_spend` needs to continue this run elsewhere."""
        tokens = self._tokens_in + self._tokens_out
        return Spend(
            tokens_before=self._prior_tokens,
            cost_before_usd=self._prior_cost,
            wall_before_s=self._prior_wall,
            tokens=tokens - self._prior_tokens,
            cost_usd=self._cost - self._prior_cost,
            started_at=self._started_at,
            sensitive=list(self.sensitive),
            lifted=self.lifted,
        )

    @contextmanager
    def capture(self, listener: _Listener | None = None) -> Iterator[list[LedgerEntry]]:
        """Collect the entries recorded inside the block (per asyncio task), and hand
        each to `listener` as it is recorded."""
        collected: list[LedgerEntry] = []
        token = _capture.set((collected, listener))
        try:
            yield collected
        finally:
            _capture.reset(token)

    def record(self, entry: LedgerEntry) -> None:
        """Add one entry."""
        self.entries.append(entry)
        self._tokens_in += entry["tokens_in"]
        self._tokens_out += entry["tokens_out"]
        self._cost += entry["cost_usd"]
        self._model_calls += entry["kind"] == "model"
        self._checks += entry["kind"] == "check"
        captured = _capture.get()
        if captured is not None:
            captured[0].append(entry)
            if captured[1] is not None:
                captured[1](entry)

    def record_check(
        self,
        *,
        node: str,
        specialist: str,
        subtask: str,
        verdict: str,
        latency_s: float,
        detail: str,
        evidence: Sequence[str] = (),
        errors: Sequence[CheckError] = (),
    ) -> None:
        """Record one deterministic check that took `latency_s` until now."""
        entry = _free("check", node, specialist, subtask, None, verdict, latency_s, detail)
        entry["started_at"] = entry["started_at"] - latency_s
        entry["evidence"], entry["errors"] = list(evidence), list(errors)
        self.record(entry)

    def record_route(self, *, specialist: str, subtask: str, route: RouteRecord) -> None:
        """Record one routing decision (its `model` is the tier's model, if it calls one)."""
        model = route["solver"] if route["calls_model"] else None
        detail = f"tier {route['tier']} ({route['solver']}): {route['reason']}"
        entry = _free("route", specialist, specialist, subtask, model, None, 0.0, detail)
        entry["route"] = route
        self.record(entry)
        if self.on_route is not None:
            self.on_route(entry)

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self._started

    def thread_wall_s(self) -> float:
        """Wall seconds spent on the thread: earlier runs plus this one so far."""
        return self._prior_wall + self.elapsed()

    def remaining_s(self) -> float | None:
        """Seconds left before a wall-time budget (run or thread), or None when unlimited."""
        left = [
            limit - spent
            for limit, spent in (
                (self.budget.max_wall_s, self.elapsed()),
                (self.thread_budget.max_wall_s, self.thread_wall_s()),
            )
            if limit is not None
        ]
        return max(0.0, min(left)) if left else None

    def check(self, *, tokens: int = 0, cost_usd: float = 0.0) -> None:
        """Raise `BudgetExceeded` if spending `tokens`/`cost_usd` more breaks a run or
        thread limit."""
        used = self._tokens_in + self._tokens_out
        run_used, run_cost = used - self._prior_tokens, self._cost - self._prior_cost
        _check_one("", self.budget, run_used, run_cost, self.elapsed(), tokens, cost_usd)
        _check_one(
            "thread ", self.thread_budget, used, self._cost, self.thread_wall_s(), tokens, cost_usd
        )

    async def call(
        self,
        model: ChatModel,
        messages: Sequence[Message],
        *,
        node: str,
        specialist: str | None = None,
        subtask: str | None = None,
        schema: OutputSchema | None = None,
        timeout: float | None = None,
    ) -> ModelReply:
        """Call `model` within the budget and record the call (also when it fails).

        Raises:
            PrivacyViolation: the run is sensitive and the model is not ``local``.
            BudgetExceeded: the call would break the budget.
        """
        if self.sensitive and model.privacy != "local":
            kinds = ", ".join(self.sensitive)
            raise PrivacyViolation(
                f"{model.name} is a cloud model and this run is sensitive ({kinds})"
            )
        estimate = Usage(input_tokens=sum(len(m.content) for m in messages) // 4 + 1)
        price = model.price
        self.check(tokens=estimate.input_tokens, cost_usd=price.cost(estimate) if price else 0.0)
        remaining = self.remaining_s()
        if remaining is not None:
            timeout = remaining if timeout is None else min(timeout, remaining)
        started, started_at = time.monotonic(), time.time()
        reply: ModelReply | None = None
        failure: Exception | None = None
        chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model.name}
        with span(f"chat {model.name}", chat, kind="client") as current:
            try:
                with redacted(bool(self.sensitive)):
                    reply = await model.complete(messages, schema=schema, timeout=timeout)
                return reply
            except Exception as exc:
                failure = exc
                raise
            finally:
                usage = reply.usage if reply else Usage()
                entry = LedgerEntry(
                    kind="model",
                    node=node,
                    specialist=specialist,
                    subtask=subtask,
                    model=model.name,
                    tokens_in=usage.input_tokens,
                    tokens_out=usage.output_tokens,
                    cost_usd=price.cost(usage) if price else 0.0,
                    latency_s=time.monotonic() - started,
                    verdict=None,
                    detail="ok" if failure is None else f"error: {failure}",
                    started_at=started_at,
                )
                self.record(entry)
                add_cost(entry["cost_usd"])
                if current is not None:
                    _chat_span(current, model, entry, reply)
                _log_call(entry, messages, reply, failure, bool(self.sensitive))
                if self.on_call is not None:
                    self.on_call(entry, messages, reply)

    def report(self) -> Report:
        """Totals so far for the whole thread (a resumed run includes the earlier ones)."""
        return Report(
            tokens_in=self._tokens_in,
            tokens_out=self._tokens_out,
            cost_usd=round(self._cost, 8),
            wall_s=round(self.thread_wall_s(), 4),
            model_calls=self._model_calls,
            checks=self._checks,
        )


def captured() -> list[LedgerEntry]:
    """The entries recorded so far inside the current task's `Ledger.capture()` block
    (what a graph node has spent before it pauses)."""
    current = _capture.get()
    return list(current[0]) if current is not None else []


def report_of(entries: Iterable[LedgerEntry], wall_s: float) -> Report:
    """The totals of `entries` (one turn's, say) over `wall_s` seconds."""
    ledger = Ledger(entries=entries)
    return Report(**{**ledger.report(), "wall_s": round(wall_s, 4)})


def _chat_span(
    current: Span, model: ChatModel, entry: LedgerEntry, reply: ModelReply | None
) -> None:
    """The ``chat`` span's attributes once the call is over (GenAI conventions)."""
    current.set_attributes(
        {
            "gen_ai.provider.name": model.capabilities.provider or "unknown",
            "gen_ai.usage.input_tokens": entry["tokens_in"],
            "gen_ai.usage.output_tokens": entry["tokens_out"],
            "trifecta.cost_usd": entry["cost_usd"],
            "trifecta.node": entry["node"],
        }
    )
    if reply is not None:
        current.set_attribute("gen_ai.response.model", reply.model)
    if entry["subtask"] is not None:
        current.set_attribute("trifecta.subtask.id", entry["subtask"])


def _log_call(
    entry: LedgerEntry,
    messages: Sequence[Message],
    reply: ModelReply | None,
    failure: Exception | None,
    sensitive: bool,
) -> None:
    """One record per model call: model, tokens, cost, latency, outcome (the prompt,
    the reply and an error's message, which may quote the reply, only with content
    logging)."""
    level = logging.INFO if failure is None else logging.WARNING
    if not _log.isEnabledFor(level):
        return
    outcome = "ok" if failure is None else f"error: {type(failure).__name__}"
    fields: dict[str, object] = {
        "node": entry["node"],
        "specialist": entry["specialist"],
        "subtask": entry["subtask"],
        "model": entry["model"],
        "served_model": reply.model if reply else None,
        "tokens_in": entry["tokens_in"],
        "tokens_out": entry["tokens_out"],
        "cost_usd": entry["cost_usd"],
        "latency_ms": round(entry["latency_s"] * 1000, 3),
        "outcome": outcome,
    }
    if log_content(sensitive):
        fields["prompt"] = [{"role": m.role, "content": m.content} for m in messages]
        fields["response"] = reply.text if reply else None
        fields["error"] = None if failure is None else str(failure)
    _log.log(
        level,
        "%s %s %s: %d in / %d out tokens, $%.6f, %.0f ms",
        entry["subtask"] or entry["node"], entry["model"], outcome, entry["tokens_in"],
        entry["tokens_out"], entry["cost_usd"], entry["latency_s"] * 1000,
        extra=log_extra("model_call", **fields),
    )  # fmt: skip


def _check_one(
    scope: str, budget: Budget, used: int, spent: float, wall: float, tokens: int, cost: float
) -> None:
    if budget.max_tokens is not None and used + tokens > budget.max_tokens:
        raise BudgetExceeded(
            f"{scope}token budget exhausted: {used} used, ~{tokens} more needed, "
            f"limit {budget.max_tokens}"
        )
    if budget.max_cost_usd is not None and spent + cost > budget.max_cost_usd:
        raise BudgetExceeded(
            f"{scope}cost budget exhausted: ${spent:.6f} spent, ~${cost:.6f} more needed, "
            f"limit ${budget.max_cost_usd:.6f}"
        )
    if budget.max_wall_s is not None and wall >= budget.max_wall_s:
        raise BudgetExceeded(
            f"{scope}time budget exhausted: {wall:.2f}s elapsed, limit {budget.max_wall_s:.2f}s"
        )


def _free(
    kind: Literal["check", "route"],
    node: str,
    specialist: str,
    subtask: str,
    model: str | None,
    verdict: str | None,
    latency_s: float,
    detail: str,
) -> LedgerEntry:
    """An entry that spends no tokens, stamped now."""
    return LedgerEntry(
        kind=kind, node=node, specialist=specialist, subtask=subtask, model=model,
        tokens_in=0, tokens_out=0, cost_usd=0.0, latency_s=latency_s, verdict=verdict, detail=detail,
        started_at=time.time(),
    )  # fmt: skip
