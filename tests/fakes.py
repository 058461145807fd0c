"""Scripted models and small specialists for tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from trifecta.models import Message
from trifecta.specialists import Candidate, FunctionSolver, Job, Specialist
from trifecta.testing import CallInfo, FunctionModel, Reply
from trifecta.verdict import Verdict, check_error


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
