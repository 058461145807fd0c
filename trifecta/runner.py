"""`Trifecta`: compose planner, specialists and merger; run, resume, report."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from langchain_core.messages import (
    AnyMessage,
    HumanMessage,
    MessageLikeRepresentation,
    convert_to_messages,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import merge_configs
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, StateSnapshot

from trifecta import specialists as _specialists
from trifecta._graph_run import (
    App,
    RequestError,
    RunOptions,
    answers,
    asked,
    check_thread,
    detached,
    paid_before_pause,
    stream_run,
    traced_run,
    turn_end,
)
from trifecta._override import Override, Parts, model_names, models_of
from trifecta._run_audit import RunAudit, audit_log
from trifecta.agents import Merger, ModelMerger, ModelPlanner, Planner, RulePlanner, TemplateMerger
from trifecta.approval import GATES, Gate
from trifecta.audit import AuditLog
from trifecta.checkpoint import checkpoint_kind, open_checkpointer
from trifecta.config import Config, Limits
from trifecta.errors import UserError
from trifecta.graphs import Defaults, Graph, build_orchestrator
from trifecta.graphs._sync import run_sync
from trifecta.graphs.state import Event, InputState, RunContext, RunState
from trifecta.ledger import Budget, Ledger
from trifecta.models import ChatModel, Price
from trifecta.registry import build_chains
from trifecta.result import RunResult, build_result
from trifecta.routing import Router
from trifecta.savings import most_expensive
from trifecta.specialists import Specialist, default_specialists
from trifecta.telemetry import setup_tracing

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

__all__ = ["RequestError", "Trifecta"]

_OVERRIDES: ContextVar[Mapping[int, Override] | None] = ContextVar(
    "trifecta_overrides", default=None
)
_COMPILED_KEEP = 8  # compiled graphs kept per instance (one per distinct set of parts)


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
        approve: approval gates that pause a run to ask a person: ``cloud`` and
            ``budget`` here; ``sql`` is set on the SQL specialist (`trifecta.approval`).
        log_content: log records carry requests, prompts, replies and answers (never
            for a sensitive run); see `trifecta.telemetry`.
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
        approve: Collection[Gate] = (),
        log_content: bool = False,
    ) -> None:
        unknown = sorted(set(approve) - set(GATES))
        if unknown:
            raise UserError(f"unknown approval gate(s) {unknown}; gates: {list(GATES)}")
        if "sql" in approve:
            raise UserError(
                "the sql gate belongs to the SQL specialist: sql_specialist(..., approve=True), "
                'or approve = ["sql"] in the config'
            )
        self.approve = frozenset(approve)
        self.log_content = log_content
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
        self._compiled: dict[tuple[int, ...], App] = {}
        self._overridden: dict[tuple[int, ...], tuple[Override, Parts, Parts]] = {}

    async def state(self, thread_id: str, *, turn: int | None = None) -> RunResult | None:
        """The thread's last checkpoint as a `RunResult` (``pending`` when it has work left
        to resume, e.g. after a crash or an `interrupt()`), or None when the thread does
        not exist. With `turn`, the checkpoint that finished that turn of the
        conversation (None if it never finished)."""
        snapshot = await self.snapshot(thread_id, turn=turn)
        if snapshot is None:
            return None
        result = build_result(cast(RunState, snapshot.values), thread_id, self.reference_model())
        asked = [i.value for i in snapshot.interrupts]
        return replace(result, pending=True, interrupts=asked) if snapshot.next else result

    async def snapshot(self, thread_id: str, *, turn: int | None = None) -> StateSnapshot | None:
        """The thread's latest LangGraph state (with the writes of subtasks that finished
        in a step still running), or with `turn` the one that finished that turn; None
        when there is none."""
        parts = self._parts()
        with detached():
            config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
            async with self._saver() as saver:
                app = self._app(parts, saver)
                found: StateSnapshot | None = await app.aget_state(config)
                if turn is not None and found is not None and found.values:
                    found = await turn_end(app, config, found, turn)
        return found if found is not None and found.values else None

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        checkpoint: BaseCheckpointSaver[str] | None = None,
        router: Router | None = None,
    ) -> Trifecta:
        """Build from a `Config`: the model registry's chains (``[models]``,
        ``[routing]``), or the single `model` for every role, or tier 0 offline. With
        ``[otel] enabled``, runs are traced from now on (`trifecta.telemetry.setup_tracing`)."""
        if config.otel.enabled:
            setup_tracing(endpoint=config.otel.endpoint, service_name=config.otel.service_name)
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
                approve_sql="sql" in config.approve,
            )
            + [
                s
                for name, spec in config.mcp.items()
                for s in run_sync(_specialists.mcp_specialists(name, spec))
            ],
            planner=planner,
            merger=merger,
            limits=config.limits,
            budget=config.budget,
            thread_budget=config.thread_budget,
            checkpoint=checkpoint or config.checkpoint_url,
            audit=audit_log(config),
            sensitive_patterns=config.sensitive_patterns,
            router=router,
            approve=[g for g in config.approve if g != "sql"],
            log_content=config.log_content,
        )

    def reference_model(self) -> tuple[str, Price] | None:
        """The most expensive configured model (name, price): the routing table's
        all-expensive counterfactual."""
        return _reference(self._parts())

    def register(self, specialist: Specialist) -> None:
        """Add a specialist (its name must be new); the next run compiles a new graph.

        Raises:
            TypeError: `specialist` is not a `Specialist` (wrap a LangChain tool in
                `ToolSolver` and give it to a `Specialist` as a tier).
            UserError: the name is taken.
        """
        if not isinstance(specialist, Specialist):
            raise TypeError(
                f"register() takes a Specialist, not {type(specialist).__name__}; make a tool "
                "a tier of one: Specialist(name, description, tiers=[ToolSolver(tool)], ...)"
            )
        if any(s.name == specialist.name for s in self.specialists):
            raise UserError(f"a specialist named {specialist.name!r} is already registered")
        self.specialists.append(specialist)
        self._compiled.clear()

    def as_tool(self, *, name: str = "trifecta", description: str | None = None) -> BaseTool:
        """This orchestrator as a LangChain tool (argument ``request``) for a supervisor
        or ReAct agent: its content is the answer and a line saying what was verified;
        its artifact is the `RunResult` as a dict."""
        from trifecta._as_tool import as_tool  # LangChain's tool machinery loads on first use

        return as_tool(self, name=name, description=description)

    @contextmanager
    def override(
        self,
        *,
        planner: Planner | None = None,
        merger: Merger | None = None,
        specialists: Sequence[Specialist] | None = None,
        router: Router | None = None,
        models: Mapping[str, ChatModel] | None = None,
    ) -> Iterator[None]:
        """Within the block, runs of this instance use these parts instead (for tests and
        evaluation; other tasks and threads are unaffected, a task started inside the block
        keeps it). Parts not named stay live (a `register()` inside the block counts).
        `models` replaces every model with that name, in specialist tiers and in planner
        and merger chains; a name that matches no model is a `UserError`.

        ```python
        with app.override(models={"gpt-4o": FunctionModel(fake_reply)}):
            result = await app.arun("What is 15% of 80?")
        ```
        """
        overrides = _OVERRIDES.get() or {}
        wanted = Override(
            planner,
            merger,
            None if specialists is None else tuple(specialists),
            router,
            dict(models or {}),
        ).over(overrides.get(id(self)))
        names = model_names(self._live())
        unknown = sorted(set(wanted.models) - names)
        if unknown:
            known = ", ".join(sorted(names)) or "none"
            raise UserError(
                f"override(models=...): no model named {', '.join(unknown)} (models: {known})"
            )
        token = _OVERRIDES.set({**overrides, id(self): wanted})
        try:
            yield
        finally:
            _OVERRIDES.reset(token)

    def _live(self) -> Parts:
        return Parts(self.planner, self.merger, tuple(self.specialists), self.router)

    def _parts(self) -> Parts:
        """The live parts, with the current task's override applied (models swapped once
        per set of parts, so the compiled graph is reused)."""
        live = self._live()
        wanted = (_OVERRIDES.get() or {}).get(id(self))
        if wanted is None:
            return live
        key = (id(wanted), *live.key(), id(live.router))
        found = self._overridden.get(key)
        if found is None:  # the entry keeps `wanted` and `live` alive, so ids stay unique
            found = _keep(self._overridden, key, (wanted, live, wanted.apply(live)))
        return found[2]

    def graph(self) -> Graph:
        """The uncompiled orchestrator graph. Compiled (with any checkpointer or none), it
        runs the LangGraph way with no context: ``invoke``, ``ainvoke``, ``stream``,
        ``astream``, ``astream_events``; this instance's budgets, router and sensitive
        patterns are its defaults, and ``context=RunContext(...)`` overrides them."""
        return self._graph(self._parts())

    def _graph(self, parts: Parts) -> Graph:
        return build_orchestrator(
            planner=parts.planner,
            merger=parts.merger,
            specialists=parts.specialists,
            max_subtasks=self.limits.max_subtasks,
            max_replans=self.limits.max_replans,
            defaults=Defaults(
                budget=self.budget,
                thread_budget=self.thread_budget,
                router=parts.router,
                sensitive_patterns=tuple(self.sensitive_patterns),
                max_request_chars=self.limits.max_request_chars,
                approve=self.approve,
            ),
        )

    def _app(self, parts: Parts, saver: BaseCheckpointSaver[str]) -> App:
        """The graph compiled once per set of parts, bound to `saver`."""
        key = (*parts.key(), id(parts.router), self.limits.max_subtasks, self.limits.max_replans)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = _keep(self._compiled, key, self._graph(parts).compile())
        return compiled.copy(update={"checkpointer": saver})

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
        request: str | Sequence[MessageLikeRepresentation],
        *,
        thread_id: str | None = None,
        budget: Budget | None = None,
        on_event: Callable[[Event], None] | None = None,
        sensitive: bool = False,
        config: RunnableConfig | None = None,
    ) -> RunResult:
        """Run one request to its answer. On a thread that holds a finished run, the
        request is the conversation's next turn (the planner sees the earlier ones).
        `request` may also be a conversation: messages (LangChain or OpenAI-style
        dicts) ending with the user's.

        A `sensitive` run, or one whose conversation contains sensitive data (e-mail,
        card number, IBAN, configured patterns), never reaches a model whose privacy is
        ``cloud``. `config` is LangGraph's: callbacks, tags, metadata, recursion_limit.

        Raises:
            RequestError: empty or oversized request, or a thread with a paused run
                (resume it).
        """
        if isinstance(request, str):
            payload = InputState(request=self._check_request(request))
        else:
            messages = convert_to_messages(request)
            if not messages or not isinstance(messages[-1], HumanMessage):
                raise RequestError("the last message must be the user's")
            self._check_request(messages[-1].text)
            payload = InputState(messages=cast(list[AnyMessage], messages))
        return await self._invoke(
            payload,
            thread_id or uuid.uuid4().hex,
            RunOptions(budget, on_event, sensitive, config),
            resume=False,
        )

    async def aresume(
        self,
        thread_id: str,
        *,
        resume: Any = None,
        reply: str | None = None,
        budget: Budget | None = None,
        on_event: Callable[[Event], None] | None = None,
        config: RunnableConfig | None = None,
    ) -> RunResult:
        """Continue an interrupted run from its last checkpoint (a finished run
        returns its result unchanged). `resume` answers what a paused run asks
        (`RunResult.interrupts`), as LangGraph's ``Command(resume=...)``."""
        options = RunOptions(budget, on_event, False, config)
        said = {"messages": [HumanMessage(reply)]} if reply is not None else None
        payload: Command[Any] | None = (
            None if resume is None else Command(resume=resume, update=said)
        )
        return await self._invoke(payload, thread_id, options, resume=True)

    def run(self, request: str, **kwargs: Any) -> RunResult:
        """Synchronous `arun`; inside a running event loop (a notebook) it runs on a
        helper thread."""
        return run_sync(self.arun(request, **kwargs))

    @asynccontextmanager
    async def _saver(self) -> AsyncIterator[BaseCheckpointSaver[str]]:
        if self._saver_instance is not None:
            yield self._saver_instance
        else:
            assert isinstance(self.checkpoint, str)
            async with open_checkpointer(self.checkpoint) as saver:
                yield saver

    def _config(self, thread_id: str, extra: RunnableConfig | None) -> RunnableConfig:
        base: RunnableConfig = {
            "recursion_limit": 4 * self.limits.max_subtasks
            + 20 * (self.limits.max_replans + 1)
            + 20
        }
        merged = merge_configs(base, extra)
        merged["configurable"] = {**merged.get("configurable", {}), "thread_id": thread_id}
        return merged

    async def _invoke(
        self,
        payload: InputState | Command[Any] | None,
        thread_id: str,
        options: RunOptions,
        *,
        resume: bool,
    ) -> RunResult:
        parts = self._parts()
        with (
            detached() as caller,
            traced_run(thread_id, resume=resume, content=self.log_content) as finish,
        ):
            config = self._config(thread_id, merge_configs(caller, options.config))
            return finish(
                await self._invoke_detached(payload, thread_id, options, config, parts, resume)
            )

    async def _invoke_detached(
        self,
        payload: InputState | Command[Any] | None,
        thread_id: str,
        options: RunOptions,
        config: RunnableConfig,
        parts: Parts,
        resume: bool,
    ) -> RunResult:
        async with self._saver() as saver:
            app = self._app(parts, saver)
            snapshot = await app.aget_state(config)
            check_thread(thread_id, bool(snapshot.values), bool(snapshot.next), resume)
            if isinstance(payload, Command) and payload.resume is not None:
                paid = paid_before_pause(snapshot)  # the paused steps run again on resume
                update = {**(payload.update or {}), **({"ledger": paid} if paid else {})}
                payload = Command(resume=answers(snapshot, payload.resume), update=update or None)
                snapshot_entries = [*snapshot.values.get("ledger", []), *paid]
            else:
                snapshot_entries = list(snapshot.values.get("ledger", []))
            trail = RunAudit(self.audit, thread_id, options.on_event) if self.audit else None
            ledger = Ledger(
                options.budget or self.budget,
                entries=snapshot_entries,
                on_call=trail.call if trail else None,
                sensitive=snapshot.values.get("sensitive", []),
                on_route=trail.route if trail else None,
                thread_budget=self.thread_budget,
                thread_wall_s=snapshot.values.get("wall_s", 0.0),
            )
            context = RunContext(options.budget, options.sensitive, ledger)
            emit = trail.event if trail else options.on_event
            finished = resume and not snapshot.next  # resuming a finished run returns it as it is
            questions: list[Any] = []
            if finished:
                state = cast(RunState, snapshot.values)
            else:
                if trail:
                    trail.start(asked(payload), resume)
                state, questions = await stream_run(app, payload, config, context, emit)
                if len(questions) > 1:  # list them in the order `aresume` answers them
                    paused = await app.aget_state(config)
                    questions = [i.value for i in paused.interrupts]
        result = build_result(state, thread_id, _reference(parts))
        if questions:
            result = replace(result, pending=True, interrupts=questions)
        if trail and not finished:
            trail.end(result)
        return result


_V = TypeVar("_V")


def _keep(cache: dict[tuple[int, ...], _V], key: tuple[int, ...], value: _V) -> _V:
    """Store `value`, dropping the oldest entries past `_COMPILED_KEEP`."""
    while len(cache) >= _COMPILED_KEEP:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


def _reference(parts: Parts) -> tuple[str, Price] | None:
    """The most expensive model the parts call: the routing table's counterfactual."""
    return most_expensive((m.name, m.price) for m in models_of(parts))
