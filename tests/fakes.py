"""Scripted models and small specialists for tests."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from trifecta import Trifecta
from trifecta.agents import ModelPlanner
from trifecta.models import Message, Price
from trifecta.specialists import Candidate, FunctionSolver, Job, Specialist
from trifecta.specialists.math import math_specialist
from trifecta.testing import CallInfo, FunctionModel, Reply, Scripted, completion
from trifecta.verdict import Verdict, check_error

APPLES = "Tom has 3 boxes of 12 apples and eats 5. How many apples are left?"
"""A word problem whose answer (31) tier 0 and the scripted models agree on."""

SHOP_SQL = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), total DECIMAL(10,2) NOT NULL);
INSERT INTO customers VALUES (1, 'Ada'), (2, 'Alan'), (3, 'Grace');
INSERT INTO orders VALUES (1, 1, 238.00), (2, 2, 49.00), (3, 3, 120.00), (4, 1, 19.98), (5, 3, 155.50);
"""
"""A small shop (customers, orders) in SQL every tested dialect accepts."""


def plan(*subtasks: tuple[str, str, str] | tuple[str, str, str, list[str]]) -> dict[str, Any]:
    """A plan reply: (id, specialist, instruction[, depends_on])."""
    out = []
    for task in subtasks:
        deps = list(task[3]) if len(task) > 3 else []  # type: ignore[misc]
        out.append(
            {"id": task[0], "specialist": task[1], "instruction": task[2], "depends_on": deps}
        )
    return {"subtasks": out}


def scripted(
    replies: Iterable[Reply | Callable[[list[Message], CallInfo], Reply]], name: str = "scripted"
) -> FunctionModel:
    """A model that answers with `replies` in order (callables are called)."""
    queue = list(replies)

    def reply(messages: list[Message], info: CallInfo) -> Reply:
        if not queue:
            raise AssertionError(
                f"{name}: unexpected call {info.index}: {messages[-1].content[:200]}"
            )
        nxt = queue.pop(0)
        return nxt(messages, info) if callable(nxt) else nxt

    return FunctionModel(reply, name=name)


def by_schema(
    routes: dict[str | None, Callable[[list[Message], CallInfo], Reply]], name: str = "router"
) -> FunctionModel:
    """A model whose reply depends on the requested schema name (None: free text)."""
    return FunctionModel(lambda m, i: routes[i.schema_name](m, i), name=name)


def upper_specialist(name: str = "upper", *, calls: list[str] | None = None) -> Specialist:
    """Upper-cases its instruction; verifies the answer is upper case."""

    def solve(job: Job) -> str:
        if calls is not None:
            calls.append(job.instruction)
        return job.instruction.upper()

    def verify(job: Job, candidate: Candidate) -> Verdict:
        ok = candidate.answer == candidate.answer.upper()
        return Verdict(
            "verified" if ok else "rejected",
            "isupper",
            errors=() if ok else (check_error("case", "not upper case"),),
        )

    return Specialist(
        name,
        "Upper-cases text.",
        [FunctionSolver(solve, name="upper")],
        verify,
        affinity=lambda c: 0.1,
    )


def merger_text(messages: list[Message], info: CallInfo) -> str:
    """A merger reply that cites every verified result it was given."""
    body = messages[-1].content
    ids = [line.split("]")[0][1:] for line in body.splitlines() if line.startswith("[")]
    return "Merged: " + " ".join(f"[{i}]" for i in ids)


def as_json(data: Any) -> str:
    return json.dumps(data)


def two_models(cheap_url: str, big_url: str, routing: str, *, cheap_extra: str = "") -> str:
    """A config with a registry of two models, ``cheap`` ($0.1/$0.2) and ``big``
    ($10/$30), in-memory checkpoints and no retries, then `routing` (TOML lines)."""
    return f"""
checkpoint = "memory"
max_retries = 0
[models.cheap]
base_url = "{cheap_url}"
price = {{input = 0.1, output = 0.2}}
{cheap_extra}
[models.big]
base_url = "{big_url}"
price = {{input = 10.0, output = 30.0}}
{routing}
"""


class Crash(BaseException):
    """Stands in for the process dying mid-run."""


def flaky(crash: list[bool]) -> Specialist:
    """A specialist that raises `Crash` while `crash` pops True, then answers."""

    def solve(job: Job) -> str:
        if crash and crash.pop():
            raise Crash
        return f"done: {job.instruction}"

    return Specialist(
        "flaky", "crashes once", [FunctionSolver(solve)], lambda j, c: Verdict("verified", "ok")
    )


def math_claims(answer: str) -> Scripted:
    """An OpenAI-protocol reply: a math answer with one claim for 3*12 - 5."""
    claims = [{"id": "s1", "kind": "value", "expr": "3*12 - 5", "answer": answer}]
    return Scripted(completion(json.dumps({"answer": answer, "claims": claims})))


def big_model(body: dict[str, Any]) -> Scripted:
    """A `serve_openai` handler for a strong generalist: plans `APPLES` as one math
    subtask, answers it right (31), and merges with a citation."""
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("name")
    if schema == "plan":
        subtasks = [{"id": "t1", "specialist": "math", "instruction": APPLES}]
        return Scripted(completion(json.dumps({"subtasks": subtasks})))
    if schema == "math_answer":
        return math_claims("31")
    return Scripted(completion("Tom has 31 apples left [t1]."))


INSPECTED = (
    "Integrate x^2 from 0 to 3. " + APPLES + " What is twice the first? "
    '<img src=x onerror="window.xss=1"></script><script>window.xss=2</script>'
)
"""A three-part request for the run inspector, with markup a page must not run."""
HOSTILE_ID = "<b onclick=alert(1)>s1</b>"
"""A claim id with markup, as a model may write one."""


def three_part(
    checkpoint: str | BaseCheckpointSaver[str] = "memory", *, gate: threading.Event | None = None
) -> Trifecta:
    """The inspector's scenario: t1 (integral, SymPy) and t2 (`APPLES`) run in parallel;
    t2's small model answers 30 three times (rejected), then the big one 31 (checked);
    t3 doubles t1's answer. With `gate` (a `threading.Event`), t2's models wait for it.
    The planner always plans the same three subtasks; the small model names its claim
    `HOSTILE_ID`."""

    async def claims(answer: str, claim_id: str) -> dict[str, Any]:
        for _ in range(2000):  # at most 20 s
            if gate is None or gate.is_set():
                break
            await asyncio.sleep(0.01)
        claim = {"id": claim_id, "kind": "value", "expr": "3*12 - 5", "answer": answer}
        return {"answer": answer, "claims": [claim]}

    small = FunctionModel(lambda m, i: claims("30", HOSTILE_ID), name="small", latency=0.05, price=Price(0.1, 0.2))  # fmt: skip
    big = FunctionModel(lambda m, i: claims("31", "s1"), name="big", latency=0.1, price=Price(10.0, 30.0))  # fmt: skip
    steps = plan(
        ("t1", "math", "Integrate x^2 from 0 to 3"),
        ("t2", "math", APPLES),
        ("t3", "math", "What is $t1 * 2?", ["t1"]),
    )
    planner = ModelPlanner(FunctionModel(lambda m, i: steps, name="planner"))
    return Trifecta([math_specialist([small, big])], planner=planner, checkpoint=checkpoint)
