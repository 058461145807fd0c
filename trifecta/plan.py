"""The plan: a DAG of subtasks, its schema, its validation and `$id` references."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict

from trifecta.errors import UserError

__all__ = [
    "ID_PATTERN",
    "UNROUTED",
    "Plan",
    "PlanError",
    "Routable",
    "Subtask",
    "SubtaskSpec",
    "Turn",
    "fill_references",
    "parse_plan",
    "references",
    "validate_plan",
]

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
UNROUTED = "unrouted"
"""The specialist name of a subtask no specialist recognises: it is not run, and the
merger flags it `unverifiable` with the reason, so the rest of the request still runs."""
_REF = re.compile(r"\$(\$|[A-Za-z][A-Za-z0-9_]*)")


class Routable(Protocol):
    """What a planner knows of a specialist: its name, what it does, and (for the offline
    rule planner) how well a request clause suits it, 0..1. `Specialist` is one."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def affinity(self) -> Callable[[str], float] | None: ...


class Subtask(BaseModel):
    """One unit of work for one specialist.

    `instruction` may quote an earlier subtask's answer as `$id`; a literal dollar
    sign before a letter is written `$$`.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="short unique id, e.g. t1")
    specialist: str = Field(description="name of the specialist that does this subtask")
    instruction: str = Field(min_length=1, max_length=8000)
    depends_on: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    """A plan as the planner writes it."""

    model_config = ConfigDict(extra="forbid")

    subtasks: list[Subtask]


class SubtaskSpec(TypedDict):
    """A validated subtask as stored in graph state (a plain, serialisable dict)."""

    id: str
    specialist: str
    instruction: str
    depends_on: list[str]


class Turn(TypedDict):
    """One finished turn of a conversation, as later turns' planners see it."""

    request: str
    answer: str
    verified: dict[str, str]
    """Verified subtask answers by subtask id (what a follow-up may refer back to;
    ``checked`` ones are not here)."""
    parts: int
    """How many subtasks the turn was planned into (0 when unknown)."""


class PlanError(UserError):
    """A plan that cannot run; `errors` lists every problem found, for the planner."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def references(instruction: str) -> list[str]:
    """Return the subtask ids an instruction quotes as `$id` (`$$` is a literal `$`)."""
    return [m.group(1) for m in _REF.finditer(instruction) if m.group(1) != "$"]


def fill_references(instruction: str, answers: Mapping[str, str]) -> str:
    """Replace each `$id` with that subtask's answer and each `$$` with `$`."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        return "$" if name == "$" else answers.get(name, match.group(0))

    return _REF.sub(sub, instruction)


def parse_plan(data: Any) -> Plan:
    """Validate raw planner output (a dict) against the `Plan` schema."""
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError([_pydantic_message(e) for e in exc.errors()]) from exc


def _pydantic_message(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg"))


def validate_plan(
    plan: Plan,
    specialists: Collection[str],
    *,
    max_subtasks: int,
    done: Collection[str] = (),
) -> list[SubtaskSpec]:
    """Check a plan and return its subtasks as specs, with `$id` references added
    to `depends_on`.

    Args:
        plan: the planner's plan.
        specialists: names the plan may use.
        max_subtasks: the cap on plan size.
        done: ids of subtasks finished in earlier plans of the same run (a re-plan
            may depend on them but not reuse their ids).

    Raises:
        PlanError: listing every problem (empty, too large, duplicate or reused id,
            unknown specialist, dangling dependency or reference, cycle).
    """
    tasks = plan.subtasks
    if not tasks:
        raise PlanError(["the plan has no subtasks"])
    if len(tasks) > max_subtasks:
        raise PlanError([f"the plan has {len(tasks)} subtasks; the limit is {max_subtasks}"])
    errors = _id_errors(tasks, done) + _specialist_errors(tasks, specialists)
    specs = [_spec(task) for task in tasks]
    known = {t.id for t in tasks} | set(done)
    errors += _dependency_errors(specs, known)
    if not errors:
        errors += _cycle_errors(specs)
    if errors:
        raise PlanError(errors)
    return specs


def _spec(task: Subtask) -> SubtaskSpec:
    deps = list(dict.fromkeys([*task.depends_on, *references(task.instruction)]))
    return {
        "id": task.id,
        "specialist": task.specialist,
        "instruction": task.instruction,
        "depends_on": deps,
    }


def _id_errors(tasks: Iterable[Subtask], done: Collection[str]) -> list[str]:
    seen: set[str] = set()
    errors = []
    for task in tasks:
        if task.id in seen:
            errors.append(f"duplicate subtask id {task.id!r}")
        elif task.id in done:
            errors.append(f"subtask id {task.id!r} was already used; pick a new id")
        seen.add(task.id)
    return errors


def _specialist_errors(tasks: Iterable[Subtask], specialists: Collection[str]) -> list[str]:
    names = ", ".join(sorted(specialists))
    return [
        f"subtask {t.id!r} names unknown specialist {t.specialist!r} (known: {names})"
        for t in tasks
        if t.specialist not in specialists and t.specialist != UNROUTED
    ]


def _dependency_errors(specs: Iterable[SubtaskSpec], known: Collection[str]) -> list[str]:
    errors = []
    for spec in specs:
        referenced = set(references(spec["instruction"]))
        for dep in spec["depends_on"]:
            if dep in known:
                continue
            what = "references $" if dep in referenced else "depends on "
            errors.append(
                f"subtask {spec['id']!r} {what}{dep!r}, which is not a subtask "
                "(write a literal dollar sign as $$)"
            )
    return errors


def _cycle_errors(specs: list[SubtaskSpec]) -> list[str]:
    graph = {s["id"]: [d for d in s["depends_on"] if d != s["id"]] for s in specs}
    self_loops = [s["id"] for s in specs if s["id"] in s["depends_on"]]
    if self_loops:
        return [f"subtask {i!r} depends on itself" for i in self_loops]
    cycle = _find_cycle(graph)
    return [f"dependency cycle: {' -> '.join(cycle)}"] if cycle else []


def _find_cycle(graph: Mapping[str, list[str]]) -> list[str]:
    """Iterative DFS; returns one cycle as a closed path of ids, or []."""
    state: dict[str, int] = {}  # 1 = on stack, 2 = finished
    for root in graph:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        state[root] = 1
        while stack:
            node, index = stack[-1]
            deps = [d for d in graph.get(node, []) if d in graph]
            if index == len(deps):
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            stack[-1] = (node, index + 1)
            nxt = deps[index]
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                state[nxt] = 1
                stack.append((nxt, 0))
                path.append(nxt)
    return []
