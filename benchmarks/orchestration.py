"""Orchestration benchmark: parallel dispatch, framework overhead, memory.

(a) 8 independent subtasks, fake model with fixed latency per call: wall time over
    the critical path (planner + one specialist call + merger), and the same plan
    run one subtask after another (a chain, as a sequential supervisor would).
(b) framework overhead per subtask with a zero-latency fake at 10/100/1,000 subtasks,
    with the in-memory and the SQLite checkpointer.
(c) peak traced Python memory at 1,000 subtasks.
(d) the same fan-out on a bare LangGraph graph of no-op nodes (plan, n parallel `Send`s,
    merge; in-memory checkpointer, ``custom`` and ``values`` streamed as `arun` does),
    both compiled before timing: trifecta's per-subtask overhead as a ratio to LangGraph's.
(e) telemetry: 100 subtasks, each one model call (zero latency), with tracing off, with
    OpenTelemetry on and an in-memory exporter (an ``invoke_agent`` and a ``chat`` span
    per subtask), and with every log record at DEBUG formatted into a null stream; runs
    interleaved, medians; the time each adds per subtask.

Run: .venv/bin/python benchmarks/orchestration.py [--latency 0.1] [--repeats 3]
Prints one table.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import operator
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Annotated, Any

from _table import print_table
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from typing_extensions import TypedDict

from trifecta import Limits, Trifecta
from trifecta.agents import ModelMerger, ModelPlanner
from trifecta.models import Message, OutputSchema
from trifecta.specialists import Candidate, FunctionSolver, ModelSolver, Specialist
from trifecta.telemetry import reset_tracing, setup_tracing
from trifecta.testing import CallInfo, FunctionModel
from trifecta.verdict import Verdict

ANSWER = OutputSchema("answer", {"type": "object", "properties": {"answer": {"type": "string"}}})


def _plan(n: int, chain: bool) -> dict[str, Any]:
    return {
        "subtasks": [
            {
                "id": f"t{i}",
                "specialist": "work",
                "instruction": f"item {i}",
                "depends_on": [f"t{i - 1}"] if chain and i else [],
            }
            for i in range(n)
        ]
    }


def _reply(n: int, chain: bool):  # type: ignore[no-untyped-def]
    def reply(messages: list[Message], info: CallInfo) -> Any:
        if info.schema_name == "plan":
            return _plan(n, chain)
        if info.schema_name == "answer":
            return {"answer": "done"}
        return "merged"

    return reply


def _verified(job: Any, candidate: Candidate) -> Verdict:
    return Verdict("verified", "bench")


def _app(
    n: int,
    *,
    latency: float,
    chain: bool = False,
    model_solver: bool = True,
    checkpoint: str = "memory",
) -> Trifecta:
    model = FunctionModel(_reply(n, chain), name="fake", latency=latency)
    solver = (
        ModelSolver(model, "work", ANSWER, lambda d: Candidate(d["answer"]))
        if model_solver
        else FunctionSolver(lambda j: "done")
    )
    work = Specialist("work", "does work", [solver], _verified)
    return Trifecta(
        [work],
        planner=ModelPlanner(model),
        merger=ModelMerger(model),
        limits=Limits(max_subtasks=max(n, 8)),
        checkpoint=checkpoint,
    )


async def _wall(app: Trifecta) -> float:
    start = time.perf_counter()
    result = await app.arun("go")
    elapsed = time.perf_counter() - start
    assert result.ok, result.answer
    return elapsed


async def parallel(latency: float, repeats: int) -> list[tuple[str, str, str]]:
    critical = 3 * latency
    par = statistics.median([await _wall(_app(8, latency=latency)) for _ in range(repeats)])
    seq = statistics.median(
        [await _wall(_app(8, latency=latency, chain=True)) for _ in range(repeats)]
    )
    return [
        (
            "(a) 8 independent subtasks, parallel",
            f"{par * 1000:.1f} ms",
            f"{par / critical:.3f}x critical path ({critical * 1000:.0f} ms); target <= 1.15x",
        ),
        (
            "(a) same plan, one after another",
            f"{seq * 1000:.1f} ms",
            f"{seq / critical:.3f}x critical path",
        ),
        ("(a) speed-up of parallel dispatch", f"{seq / par:.2f}x", "sequential / parallel"),
    ]


async def overhead(repeats: int) -> list[tuple[str, str, str]]:
    rows = []
    for checkpoint in ("memory", "sqlite"):
        per: dict[int, float] = {}
        for n in (10, 100, 1000):
            times = []
            for _ in range(repeats):
                with tempfile.TemporaryDirectory() as tmp:
                    url = (
                        "memory"
                        if checkpoint == "memory"
                        else f"sqlite:///{Path(tmp) / 'c.sqlite'}"
                    )
                    times.append(
                        await _wall(_app(n, latency=0.0, model_solver=False, checkpoint=url))
                    )
            per[n] = statistics.median(times) / n * 1000
            rows.append(
                (
                    f"(b) overhead, {n} subtasks, {checkpoint} checkpointer",
                    f"{per[n]:.3f} ms/subtask",
                    "target <= 2 ms",
                )
            )
        rows.append(
            (
                f"(b) growth 100 -> 1000, {checkpoint}",
                f"{per[1000] / per[100]:.2f}x per subtask",
                "1.00x = linear",
            )
        )
    return rows


class _Bare(TypedDict, total=False):
    n: int
    done: Annotated[list[str], operator.add]


def _bare_graph() -> Any:
    def fan(state: _Bare) -> list[Send]:
        return [Send("work", {"i": i}) for i in range(state["n"])]

    async def work(task: dict[str, int]) -> dict[str, Any]:
        return {"done": [str(task["i"])]}

    async def noop(state: _Bare) -> dict[str, Any]:
        return {}

    graph = StateGraph(_Bare)
    graph.add_node("plan", noop)
    graph.add_node("work", work)
    graph.add_node("merge", noop)
    graph.add_edge(START, "plan")
    graph.add_conditional_edges("plan", fan, ["work"])
    graph.add_edge("work", "merge")
    graph.add_edge("merge", END)
    return graph.compile(checkpointer=InMemorySaver())


async def _bare_wall(n: int) -> float:
    graph = _bare_graph()
    config: Any = {"configurable": {"thread_id": "bench"}, "recursion_limit": 4 * n + 20}
    start = time.perf_counter()
    async for _ in graph.astream({"n": n}, config, stream_mode=["custom", "values"]):
        pass
    return time.perf_counter() - start


async def against_langgraph(repeats: int) -> list[tuple[str, str, str]]:
    rows = []
    for n in (10, 100, 1000):
        app = _app(n, latency=0.0, model_solver=False)
        await _wall(app)  # both graphs compiled before the clock starts
        ours = statistics.median([await _wall(app) for _ in range(repeats)])
        bare = statistics.median([await _bare_wall(n) for _ in range(repeats)])
        rows.append(
            (
                f"(d) {n} subtasks: trifecta vs bare LangGraph",
                f"{ours / n * 1000:.3f} vs {bare / n * 1000:.3f} ms/subtask",
                f"{ours / bare:.2f}x; target <= 3x",
            )
        )
    return rows


async def memory() -> list[tuple[str, str, str]]:
    tracemalloc.start()
    await _wall(_app(1000, latency=0.0, model_solver=False))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return [
        (
            "(c) peak traced memory, 1000 subtasks",
            f"{peak / 2**20:.1f} MiB",
            f"{peak / 1000 / 1024:.1f} KiB per subtask",
        )
    ]


async def _telemetry_wall(app: Trifecta, mode: str, memory: InMemorySpanExporter) -> float:
    """One run with telemetry `mode`: off, traced (in memory) or logged (DEBUG)."""
    logger = logging.getLogger("trifecta")
    handler = logging.StreamHandler(io.StringIO())
    if mode == "traced":
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(memory))
        setup_tracing(provider)
    elif mode == "logged":
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        return await _wall(app)
    finally:
        reset_tracing()
        memory.clear()
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


async def telemetry(repeats: int, n: int = 100) -> list[tuple[str, str, str]]:
    app = _app(n, latency=0.0)
    memory = InMemorySpanExporter()
    times: dict[str, list[float]] = {"off": [], "traced": [], "logged": []}
    await _wall(app)  # compiled before the clock starts
    for _ in range(max(repeats, 5)):
        for mode in times:
            times[mode].append(await _telemetry_wall(app, mode, memory))
    off, traced, logged = (statistics.median(times[m]) / n * 1000 for m in times)
    return [
        (f"(e) {n} subtasks with a model call, tracing off", f"{off:.3f} ms/subtask", ""),
        (
            "(e) tracing on, in-memory exporter",
            f"{traced:.3f} ms/subtask",
            f"+{traced - off:.3f} ms per subtask; target <= 0.2 ms",
        ),
        (
            "(e) every log record at DEBUG, formatted",
            f"{logged:.3f} ms/subtask",
            f"+{logged - off:.3f} ms per subtask",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--latency", type=float, default=0.1, help="fake model latency per call, seconds"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    async def run() -> list[tuple[str, str, str]]:
        return [
            *await parallel(args.latency, args.repeats),
            *await overhead(args.repeats),
            *await memory(),
            *await against_langgraph(args.repeats),
            *await telemetry(args.repeats),
        ]

    rows = asyncio.run(run())
    print_table(rows)


if __name__ == "__main__":
    main()
