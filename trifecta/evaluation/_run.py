"""Running a suite against configurations: one record per (configuration, question),
on the local executor (asyncio in this process) or on Ray."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from trifecta.agents import TemplateMerger
from trifecta.agents.planner import PlanRequest
from trifecta.config import Config
from trifecta.errors import UserError
from trifecta.evaluation._grade import grade
from trifecta.evaluation._suites import Question
from trifecta.ledger import Ledger
from trifecta.plan import SubtaskSpec
from trifecta.routing import escalated
from trifecta.runner import RequestError, Trifecta
from trifecta.verdict import SubtaskRow

__all__ = ["Record", "Setup", "run_local", "run_ray"]


@dataclass(frozen=True)
class Setup:
    """A configuration under evaluation, by name."""

    name: str
    config: Config


@dataclass(frozen=True)
class Record:
    """The outcome of one question under one configuration."""

    config: str
    id: str
    correct: bool
    status: str
    tier: int | None
    solver: str | None
    escalated: bool
    cost_usd: float
    tokens: int
    latency_s: float
    answer: str
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form."""
        return asdict(self)

    def outcome(self) -> tuple[Any, ...]:
        """Everything but the latency: what two executors must agree on."""
        return tuple(v for k, v in asdict(self).items() if k != "latency_s")


@dataclass(frozen=True)
class _Direct:
    """A planner that sends the whole request to one specialist (no model call)."""

    specialist: str

    async def plan(self, request: PlanRequest, ledger: Ledger) -> list[SubtaskSpec]:
        return [SubtaskSpec(id="q", specialist=self.specialist, instruction=request.request,
                            depends_on=[])]  # fmt: skip


_Apps = dict[tuple[str, str | None, str | None, str | None], Trifecta]


def _app(setup: Setup, question: Question, apps: _Apps) -> Trifecta:
    key = (setup.name, question.specialist, question.db, question.docs)
    if key not in apps:
        config = replace(
            setup.config,
            db=question.db or setup.config.db,
            docs=question.docs or setup.config.docs,
            checkpoint="memory",
        )
        if question.specialist:
            config = replace(config, limits=replace(config.limits, max_replans=0))
        apps[key] = Trifecta.from_config(config)
    return apps[key]


async def _one(setup: Setup, question: Question, apps: _Apps) -> Record:
    started = time.perf_counter()
    try:
        app = _app(setup, question, apps)
        if question.specialist:  # straight to one specialist: no planner or merger model
            with app.override(planner=_Direct(question.specialist), merger=TemplateMerger()):
                result = await app.arun(question.question)
        else:
            result = await app.arun(question.question)
    except (RequestError, ValueError, OSError) as exc:
        return Record(setup.name, question.id, False, "error", None, None, False, 0.0, 0,
                      time.perf_counter() - started, "", str(exc))  # fmt: skip
    latency = time.perf_counter() - started
    accepted = [s for s in result.subtasks if s["status"] in ("verified", "checked")]
    first = result.subtasks[0] if result.subtasks else None
    report = result.report
    return Record(
        config=setup.name,
        id=question.id,
        correct=grade(question, accepted, result.answer if result.ok else ""),
        status=_overall(result.subtasks),
        tier=first["tier"] if first else None,
        solver=first["solver"] if first else None,
        escalated=escalated(result.ledger),
        cost_usd=round(report["cost_usd"], 10),
        tokens=report["tokens_in"] + report["tokens_out"],
        latency_s=latency,
        answer=result.answer,
        error=result.error or result.stopped,
    )


def _overall(subtasks: Sequence[SubtaskRow]) -> str:
    statuses = {s["status"] for s in subtasks}
    for status in ("rejected", "unverifiable", "checked", "verified"):
        if status in statuses:
            return status
    return "error"


async def run_local(
    setups: Sequence[Setup],
    questions: Sequence[Question],
    *,
    jobs: int = 4,
    on_record: Callable[[Record], None] | None = None,
) -> list[Record]:
    """Every question under every setup, `jobs` at a time, in (setup, question) order."""
    apps: _Apps = {}
    gate = asyncio.Semaphore(max(1, jobs))

    async def one(setup: Setup, question: Question) -> Record:
        async with gate:
            record = await _one(setup, question, apps)
        if on_record is not None:
            on_record(record)
        return record

    return list(await asyncio.gather(*(one(s, q) for s in setups for q in questions)))


def _ray_batch(setups: list[Setup], questions: list[Question], jobs: int) -> list[Record]:
    """One Ray task: a slice of the questions, run by the local executor in the worker."""
    return asyncio.run(run_local(setups, questions, jobs=jobs))


def run_ray(
    setups: Sequence[Setup],
    questions: Sequence[Question],
    *,
    address: str | None = None,
    batch: int = 8,
    jobs: int = 4,
    on_record: Callable[[Record], None] | None = None,
) -> list[Record]:
    """The same as `run_local`, with each batch of questions a Ray task.

    `address` names a running cluster (``ray://host:10001`` or ``auto``); None starts a
    local Ray instance for the duration of the call. Workers need trifecta installed.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError as exc:
        raise UserError("the ray executor needs Ray: pip install 'trifecta[ray]'") from exc
    started_here = not ray.is_initialized()
    if started_here and address:
        ray.init(address=address, log_to_driver=False)
    elif started_here:  # a local instance on loopback, no dashboard
        ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(_ray_batch)
        pending = {
            task.remote([setup], list(questions[i : i + batch]), jobs): (n, i)
            for n, setup in enumerate(setups)
            for i in range(0, len(questions), batch)
        }
        done: dict[tuple[int, int], list[Record]] = {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            key = pending.pop(ready[0])
            done[key] = ray.get(ready[0])
            for record in done[key] if on_record else []:
                on_record(record)  # type: ignore[misc]
        return [r for key in sorted(done) for r in done[key]]
    finally:
        if started_here:
            ray.shutdown()
