"""`Trifecta`: compose planner, specialists and merger; run, resume, report."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from html import escape
from typing import Any, cast

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import StateGraph

from trifecta.agents import Merger, ModelMerger, ModelPlanner, Planner, RulePlanner, TemplateMerger
from trifecta.agents.merger import not_run_reason
from trifecta.audit import AuditKeyError, AuditLog, load_key, sha256_text
from trifecta.checkpoint import checkpoint_kind, open_checkpointer
from trifecta.config import Config, ConfigError, Limits
from trifecta.graphs import build_orchestrator
from trifecta.ledger import Budget, Ledger, LedgerEntry, Report
from trifecta.linear_re import INLINE_CHARS
from trifecta.models import Message, ModelReply, Price
from trifecta.privacy import find_sensitive
from trifecta.registry import build_chains
from trifecta.routing import Router
from trifecta.savings import RoutingTable, most_expensive, routing_table
from trifecta.specialists import Specialist, default_specialists
from trifecta.state import Event, RunContext, RunState

__all__ = ["RequestError", "RunResult", "Trifecta"]


class RequestError(ValueError):
    """The request cannot be run (empty, too long, unknown or finished thread)."""


@dataclass(frozen=True)
class RunResult:
    """A finished (or stopped) run.

    Attributes:
        answer: the merged answer.
        subtasks: one dict per planned subtask (id, specialist, instruction, status,
            answer, evidence, tier, solver, method, errors, elapsed_s, cost_usd).
        report: run totals (tokens, cost, wall time, calls).
        thread_id: the LangGraph thread, for `Trifecta.resume`.
        error: why the run could not be planned, if so.
        stopped: the budget that stopped it, if any.
        pending: the thread has work left (a crashed or paused run): `Trifecta.aresume` it.
        ledger: every model call, check and routing decision.
        routing: per subtask, the tier that answered and its cost, against sending
            everything to the most expensive configured model (`trifecta.savings`).
    """

    answer: str
    subtasks: list[dict[str, Any]]
    report: Report
    thread_id: str
    error: str | None = None
    stopped: str | None = None
    ledger: list[LedgerEntry] = field(default_factory=list)
    routing: RoutingTable | None = None
    pending: bool = False

    @property
    def ok(self) -> bool:
        """True when every subtask was verified or checked."""
        return (
            not self.error
            and not self.stopped
            and not self.pending
            and all(s["status"] in ("verified", "checked") for s in self.subtasks)
        )

    def _repr_html_(self) -> str:
        """Jupyter view: the answer, a table of subtasks, the totals."""
        colors = {
            "verified": "#1a7f37",
            "checked": "#0969da",
            "rejected": "#cf222e",
            "unverifiable": "#9a6700",
        }
        rows = "".join(
            f"<tr><td>{escape(s['id'])}</td><td>{escape(s['specialist'])}</td>"
            f"<td style='color:{colors.get(s['status'], '#000')}'><b>{escape(s['status'])}</b></td>"
            f"<td>{escape(str(s['answer']))}</td><td>{'-' if s['tier'] is None else s['tier']}"
            f" ({escape(str(s['solver']))})</td><td>{s['elapsed_s']:.3f}s</td><td>${s['cost_usd']:.6f}</td></tr>"
            for s in self.subtasks
        )
        r = self.report
        saving = ""
        if self.routing and self.routing["reference_model"]:
            t = self.routing
            saving = (
                f" · all {escape(str(t['reference_model']))}: ${t['all_expensive_usd']:.6f}"
                f" (saved ${t['saving_usd']:.6f})"
            )
        head = "".join(
            f"<th>{h}</th>"
            for h in ("id", "specialist", "status", "answer", "tier", "time", "cost")
        )
        return (
            f"<div><pre>{escape(self.answer)}</pre><table><tr>{head}</tr>{rows}</table>"
            f"<p>tokens {r['tokens_in']} in / {r['tokens_out']} out · ${r['cost_usd']:.6f}{saving} · {r['wall_s']:.2f}s"
            f" · thread {escape(self.thread_id)}</p></div>"
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``trifecta run --json``."""
        return {
            "answer": self.answer,
            "subtasks": self.subtasks,
            "report": dict(self.report),
            "thread_id": self.thread_id,
            "error": self.error,
            "stopped": self.stopped,
            "pending": self.pending,
            "routing": self.routing,
        }


def _subtask_rows(state: RunState) -> list[dict[str, Any]]:
    results = state.get("results", {})
    costs: dict[str, float] = {}
    for entry in state.get("ledger", []):
        if entry["subtask"]:
            costs[entry["subtask"]] = costs.get(entry["subtask"], 0.0) + entry["cost_usd"]
    rows = []
    for spec in state.get("subtasks", []):
        result = results.get(spec["id"])
        row: dict[str, Any] = dict(result) if result else {
            **spec, "status": "unverifiable", "answer": "", "method": "not run",
            "evidence": [], "errors": [{"rule": "skipped", "message": "not run: " + not_run_reason(spec, results, state.get("stopped"))}],
            "tier": None, "solver": None, "attempts": 0, "elapsed_s": 0.0, "data": {},
        }  # fmt: skip
        row["depends_on"] = spec["depends_on"]
        row["cost_usd"] = round(costs.get(spec["id"], 0.0), 8)
        rows.append(row)
    return rows


class Trifecta:
    """The orchestrator: a planner, specialists and a merger, run as a LangGraph.

    Args:
        specialists: the specialists the planner may use.
        planner: defaults to the offline `RulePlanner`.
        merger: defaults to the offline `TemplateMerger`.
        limits: plan and request bounds.
        budget: default per-run budget (one `arun` or `aresume`).
        thread_budget: limits for everything spent on one thread, across its runs.
        checkpoint: ``memory`` (kept by this instance), ``sqlite:///file``,
            ``postgresql://…``, or an open LangGraph checkpointer (a server keeps one).
        audit: a hash-chained audit log written for every run (see `trifecta.audit`).
        sensitive_patterns: extra regular expressions that make a request sensitive.
        router: picks each specialist's next tier (default `cheapest_first`); see
            `trifecta.routing`.
    """

    def __init__(
        self,
        specialists: Sequence[Specialist],
        *,
        planner: Planner | None = None,
        merger: Merger | None = None,
        limits: Limits | None = None,
        budget: Budget | None = None,
        thread_budget: Budget | None = None,
        checkpoint: str | BaseCheckpointSaver[str] = "memory",
        audit: AuditLog | None = None,
        sensitive_patterns: Sequence[str] = (),
        router: Router | None = None,
    ) -> None:
        self.specialists = list(specialists)
        self.router = router
        self.planner = planner or RulePlanner()
        self.merger = merger or TemplateMerger()
        self.limits = limits or Limits()
        self.budget = budget or Budget()
        self.thread_budget = thread_budget or Budget()
        if isinstance(checkpoint, str):
            checkpoint_kind(checkpoint)  # an unsupported URL fails here, before anything exists
        self.checkpoint = checkpoint
        self.audit = audit
        self.sensitive_patterns = list(sensitive_patterns)
        self._saver_instance: BaseCheckpointSaver[str] | None = (
            InMemorySaver()
            if checkpoint == "memory"
            else checkpoint
            if not isinstance(checkpoint, str)
            else None
        )

    async def state(self, thread_id: str) -> RunResult | None:
        """The thread's last checkpoint as a `RunResult` (``pending`` when it has work left
        to resume, e.g. after a crash), or None when the thread does not exist."""
        config: Any = {"configurable": {"thread_id": thread_id}}
        async with self._saver() as saver:
            snapshot = await self.graph().compile(checkpointer=saver).aget_state(config)
        if not snapshot.values:
            return None
        values = cast(RunState, snapshot.values)
        ledger = Ledger(entries=values.get("ledger", []), thread_wall_s=values.get("wall_s", 0.0))
        result = _result(values, thread_id, ledger, self.reference_model())
        return replace(result, pending=True) if snapshot.next else result

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        checkpoint: BaseCheckpointSaver[str] | None = None,
        router: Router | None = None,
    ) -> Trifecta:
        """Build from a `Config`: the model registry's chains (``[models]``,
        ``[routing]``), or the single `model` for every role, or tier 0 offline."""
        chains = build_chains(config)
        planner: Planner = RulePlanner()
        for model in reversed(chains.planner):  # cheapest first; the rule planner last
            planner = ModelPlanner(
                model, max_attempts=config.limits.max_plan_attempts, fallback=planner
            )
        merger: ModelMerger | None = None
        for model in reversed(chains.merger):
            merger = ModelMerger(model, fallback=merger)
        return cls(
            default_specialists(
                db=config.db,
                docs=config.docs,
                data_dir=config.data_dir,
                chains=chains.for_specialist,
            ),
            planner=planner,
            merger=merger,
            limits=config.limits,
            budget=config.budget,
            thread_budget=config.thread_budget,
            checkpoint=checkpoint or config.checkpoint_url,
            audit=_audit_log(config),
            sensitive_patterns=config.sensitive_patterns,
            router=router,
        )

    def reference_model(self) -> tuple[str, Price] | None:
        """The most expensive configured model (name, price): the routing table's
        all-expensive counterfactual."""
        models = [getattr(t, "model", None) for s in self.specialists for t in s.tiers]
        for role in (self.planner, self.merger):
            link: Any = role
            while link is not None:  # a chain of model planners or mergers, by fallback
                models.append(getattr(link, "model", None))
                link = getattr(link, "fallback", None)
        return most_expensive((m.name, m.price) for m in models if m is not None)

    def register(self, specialist: Specialist) -> None:
        """Add a specialist (its name must be new)."""
        if any(s.name == specialist.name for s in self.specialists):
            raise ValueError(f"a specialist named {specialist.name!r} is already registered")
        self.specialists.append(specialist)

    def graph(self) -> StateGraph[RunState, RunContext, RunState, RunState]:
        """The uncompiled orchestrator graph."""
        return build_orchestrator(
            planner=self.planner,
            merger=self.merger,
            specialists=self.specialists,
            max_subtasks=self.limits.max_subtasks,
            max_replans=self.limits.max_replans,
        )

    def _check_request(self, request: str) -> str:
        if not isinstance(request, str) or not request.strip():
            raise RequestError("the request is empty")
        if len(request) > self.limits.max_request_chars:
            raise RequestError(
                f"the request is {len(request):,} characters; the limit is "
                f"{self.limits.max_request_chars:,} (limits.max_request_chars)"
            )
        return request.strip()

    async def arun(
        self,
        request: str,
        *,
        thread_id: str | None = None,
        budget: Budget | None = None,
        on_event: Callable[[Event], None] | None = None,
        sensitive: bool = False,
    ) -> RunResult:
        """Run one request to its answer. A `sensitive` run, or one whose request contains
        sensitive data (e-mail, card number, IBAN, configured patterns), never reaches a
        model whose privacy is ``cloud``.

        Raises:
            RequestError: empty or oversized request, or a thread id already used.
        """
        text = self._check_request(request)
        found = (
            find_sensitive(text, self.sensitive_patterns)
            if len(text) <= INLINE_CHARS
            else await asyncio.to_thread(find_sensitive, text, self.sensitive_patterns)
        )
        kinds = found or (["requested"] if sensitive else [])
        payload = RunState(request=text, sensitive=kinds)
        return await self._invoke(
            payload, thread_id or uuid.uuid4().hex, budget, on_event, resume=False
        )

    async def aresume(
        self,
        thread_id: str,
        *,
        budget: Budget | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> RunResult:
        """Continue an interrupted run from its last checkpoint (a finished run
        returns its result unchanged)."""
        return await self._invoke(None, thread_id, budget, on_event, resume=True)

    def run(self, request: str, **kwargs: Any) -> RunResult:
        """Synchronous `arun` (not from inside a running event loop: use `arun`)."""
        return asyncio.run(self.arun(request, **kwargs))

    @asynccontextmanager
    async def _saver(self) -> AsyncIterator[BaseCheckpointSaver[str]]:
        if self._saver_instance is not None:
            yield self._saver_instance
        else:
            assert isinstance(self.checkpoint, str)
            async with open_checkpointer(self.checkpoint) as saver:
                yield saver

    async def _invoke(
        self,
        payload: RunState | None,
        thread_id: str,
        budget: Budget | None,
        on_event: Callable[[Event], None] | None,
        *,
        resume: bool,
    ) -> RunResult:
        config: Any = {
            "configurable": {"thread_id": thread_id},
            "recursion_limit": 4 * self.limits.max_subtasks
            + 20 * (self.limits.max_replans + 1)
            + 20,
        }
        async with self._saver() as saver:
            app = self.graph().compile(checkpointer=saver)
            snapshot = await app.aget_state(config)
            _check_thread(thread_id, bool(snapshot.values), bool(snapshot.next), resume)
            trail = _Audit(self.audit, thread_id, on_event) if self.audit else None
            ledger = Ledger(
                budget or self.budget,
                entries=snapshot.values.get("ledger", []),
                on_call=trail.call if trail else None,
                sensitive=(payload or snapshot.values).get("sensitive", []),
                on_route=trail.route if trail else None,
                thread_budget=self.thread_budget,
                thread_wall_s=snapshot.values.get("wall_s", 0.0),
            )
            context = RunContext(ledger, trail.event if trail else on_event, self.router)
            finished = resume and not snapshot.next  # resuming a finished run returns it as it is
            if finished:
                state = cast(RunState, snapshot.values)
            else:
                if trail:
                    trail.start(payload["request"] if payload else None, resume)
                state = cast(RunState, await app.ainvoke(payload, config, context=context))
        result = _result(state, thread_id, ledger, self.reference_model())
        if trail and not finished:
            trail.end(result)
        return result


class _Audit:
    """Writes one run's records: start, plan, each model call, each verdict, end."""

    def __init__(self, log: AuditLog, run: str, on_event: Callable[[Event], None] | None) -> None:
        self.log, self.run, self.on_event = log, run, on_event

    def start(self, request: str | None, resume: bool) -> None:
        content = {"request": request} if self.log.store_content and request else {}
        digest = sha256_text(request) if request else None
        self.log.write("run_start", self.run, request_sha256=digest, resumed=resume, **content)

    def event(self, event: Event) -> None:
        if event.kind == "planned":
            self.log.write("plan", self.run, subtasks=event.data)
        elif event.kind == "subtask":
            r = event.data
            self.log.write(
                "verdict", self.run, subtask=r["id"], specialist=r["specialist"], status=r["status"],
                method=r["method"], tier=r["tier"], solver=r["solver"], attempts=r["attempts"],
                evidence=r["evidence"], errors=r["errors"],
            )  # fmt: skip
        if self.on_event is not None:
            self.on_event(event)

    def call(
        self, entry: LedgerEntry, messages: Sequence[Message], reply: ModelReply | None
    ) -> None:
        prompt = "\n".join(f"{m.role}: {m.content}" for m in messages)
        content = (
            {"prompt": prompt, "response": reply.text if reply else None}
            if self.log.store_content
            else {}
        )
        self.log.write(
            "call", self.run, node=entry["node"], subtask=entry["subtask"], model=entry["model"],
            tokens_in=entry["tokens_in"], tokens_out=entry["tokens_out"], cost_usd=entry["cost_usd"],
            latency_s=round(entry["latency_s"], 6), outcome=entry["detail"], prompt_sha256=sha256_text(prompt),
            served_model=reply.model if reply else None,
            response_sha256=sha256_text(reply.text) if reply else None, **content,
        )  # fmt: skip

    def route(self, entry: LedgerEntry) -> None:
        self.log.write(
            "route", self.run, subtask=entry["subtask"], specialist=entry["specialist"],
            solver=entry["model"], reason=entry["detail"],
        )  # fmt: skip

    def end(self, result: RunResult) -> None:
        self.log.write(
            "run_end", self.run, answer_sha256=sha256_text(result.answer), report=dict(result.report),
            error=result.error, stopped=result.stopped,
        )  # fmt: skip


def _audit_log(config: Config) -> AuditLog | None:
    """The configured audit log: keyed when the config names a key; its head is also kept
    in the checkpoint database unless checkpoints live in memory."""
    if not config.audit_log:
        return None
    try:
        key = load_key(config.audit_key_file, config.audit_key_env)
    except AuditKeyError as exc:
        raise ConfigError(str(exc)) from exc
    head_db = None if config.checkpoint_url == "memory" else config.checkpoint_url
    return AuditLog(config.audit_log, store_content=config.audit_content, key=key, head_db=head_db)


def _result(
    state: RunState, thread_id: str, ledger: Ledger, reference: tuple[str, Price] | None
) -> RunResult:
    subtasks = _subtask_rows(state)
    entries = list(state.get("ledger", []))
    return RunResult(
        answer=state.get("answer", ""),
        subtasks=subtasks,
        report=ledger.report(),
        thread_id=thread_id,
        error=state.get("error"),
        stopped=state.get("stopped"),
        ledger=entries,
        routing=routing_table(subtasks, entries, reference),
    )


def _check_thread(thread_id: str, exists: bool, pending: bool, resume: bool) -> None:
    if resume and not exists:
        raise RequestError(f"no run with thread id {thread_id!r} in this checkpoint store")
    if not resume and exists:
        hint = "resume it" if pending else "use a new thread id"
        raise RequestError(f"thread {thread_id!r} already holds a run; {hint}")
