"""Planners: turn a request into validated subtasks.

`RulePlanner` runs offline (clauses routed by each specialist's affinity);
`ModelPlanner` asks the generalist model for a JSON plan and feeds validation
errors back to it, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from trifecta.agents._followup import resolve_followup
from trifecta.agents._prompts import prompt
from trifecta.agents._refine import group_refinements
from trifecta.ledger import Ledger
from trifecta.models import ChatModel, Message, ModelError, ModelOutputError, OutputSchema
from trifecta.plan import (
    UNROUTED,
    Plan,
    PlanError,
    Routable,
    Subtask,
    SubtaskSpec,
    Turn,
    parse_plan,
    validate_plan,
)
from trifecta.verdict import ACCEPTED, Result

__all__ = [
    "PLAN_SCHEMA",
    "ModelPlanner",
    "PlanRequest",
    "Planner",
    "RulePlanner",
    "group_refinements",
    "split_clauses",
]

PLAN_SCHEMA = OutputSchema("plan", Plan.model_json_schema(), "A plan of subtasks.")


@dataclass(frozen=True)
class PlanRequest:
    """What a planner is asked: a first plan, or (with `existing`) a re-plan."""

    request: str
    specialists: Sequence[Routable]
    max_subtasks: int
    existing: Sequence[SubtaskSpec] = ()
    results: Mapping[str, Result] = field(default_factory=dict)
    history: Sequence[Turn] = ()
    """Earlier turns of the conversation, oldest first."""

    @property
    def failed(self) -> list[Result]:
        """Results that were not accepted."""
        return [r for r in self.results.values() if r["status"] not in ACCEPTED]

    def validate(self, plan: Plan) -> list[SubtaskSpec]:
        """Validate `plan` against the specialists, the cap and the ids in use."""
        return validate_plan(
            plan,
            [s.name for s in self.specialists],
            max_subtasks=self.max_subtasks,
            done=[s["id"] for s in self.existing],
        )


class Planner(Protocol):
    """Writes a plan; raises `PlanError` when it cannot."""

    async def plan(self, request: PlanRequest, ledger: Ledger) -> list[SubtaskSpec]:
        """Return validated subtasks (on a re-plan, only the new ones)."""
        ...


_ABBREVIATION = r"(?<!\b[A-Z]\.)(?<!\b(?:Mr|Ms|Dr|St)\.)(?<!\bMrs\.)(?<!\be\.g\.)(?<!\bi\.e\.)"
_SPLIT = re.compile(rf"(?<=[.?!;]){_ABBREVIATION}\s+(?=[^\s+*/^=×÷·)-])|\n+")
_DOLLAR = re.compile(r"\$(?=[A-Za-z$])")


def split_clauses(request: str) -> list[str]:
    """Split a request into sentences (decimals such as 3.5, initials such as "M. Duarte"
    and "Dr. Lee", "e.g." and "i.e." stay whole, and so does a factorial followed by an
    operator: "5! / 3!")."""
    return [c.strip() for c in _SPLIT.split(request) if c.strip(" .;\t")]


class RulePlanner:
    """The offline planner: one subtask per clause, routed to the specialist whose
    `affinity` scores it highest; a clause no specialist recognises becomes an
    `UNROUTED` subtask (flagged, not run) unless no clause is recognised at all. A sentence that only refines the one before it
    ("… Give me the shop name.", "… Sort by date.") stays in that sentence's subtask
    (`group_refinements`). A re-plan routes each failed clause to the next
    best specialist that has not tried it."""

    async def plan(self, request: PlanRequest, ledger: Ledger) -> list[SubtaskSpec]:
        """Plan by rules, in a worker thread (affinities may be CPU-bound, so they never
        stall the event loop); no model is called."""
        return await asyncio.to_thread(self._plan, request)

    def _plan(self, request: PlanRequest) -> list[SubtaskSpec]:
        if request.existing:
            return self._replan(request)
        clauses = group_refinements(split_clauses(request.request))
        if len(clauses) == 1:  # "that" in a request of several parts may mean any of them
            clauses = [resolve_followup(clauses[0], request.history)]
        if len(clauses) > request.max_subtasks:
            raise PlanError(
                [f"the request has {len(clauses)} parts; the limit is {request.max_subtasks}"]
            )
        subtasks: list[dict[str, str]] = []
        for index, clause in enumerate(clauses, 1):
            ranked = _rank(clause, request.specialists) or [UNROUTED]
            text = _DOLLAR.sub("$$", clause)
            subtasks.append({"id": f"t{index}", "specialist": ranked[0], "instruction": text})
        if all(s["specialist"] == UNROUTED for s in subtasks):
            raise PlanError([_unrouted_message(clauses, request.specialists)])
        return request.validate(parse_plan({"subtasks": subtasks}))  # too long: PlanError

    def _replan(self, request: PlanRequest) -> list[SubtaskSpec]:
        by_id = {s["id"]: s for s in request.existing}
        new: list[Subtask] = []
        for result in request.failed:
            spec = by_id[result["id"]]
            tried = {
                s["specialist"] for s in request.existing if s["instruction"] == spec["instruction"]
            }
            options = [
                n for n in _rank(result["instruction"], request.specialists) if n not in tried
            ]
            if options:
                new_id = _fresh_id(spec["id"], by_id)
                new.append(
                    Subtask(id=new_id, specialist=options[0], instruction=spec["instruction"])
                )
        return request.validate(Plan(subtasks=new)) if new else []


def _rank(clause: str, specialists: Sequence[Routable]) -> list[str]:
    scored = [(s.affinity(clause), s.name) for s in specialists if s.affinity is not None]
    return [name for score, name in sorted(scored, key=lambda p: -p[0]) if score > 0]


def _fresh_id(base: str, used: Mapping[str, Any]) -> str:
    n = 2
    while f"{base}_{n}" in used:
        n += 1
    return f"{base}_{n}"


def _unrouted_message(clauses: Sequence[str], specialists: Sequence[Routable]) -> str:
    shown = "; ".join(repr(c[:80]) for c in clauses[:3])
    more = f" and {len(clauses) - 3} more" if len(clauses) > 3 else ""
    names = ", ".join(s.name for s in specialists) or "none"
    return (
        f"no specialist recognises {shown}{more} (offline rule planner; specialists: {names}). "
        "Rephrase, add the data source it needs (--db, --docs), or configure a model "
        "(--model) for free-form requests"
    )


class ModelPlanner:
    """The generalist planner: a model writes the plan as JSON.

    Args:
        model: the generalist model.
        max_attempts: plans asked for before giving up (invalid ones are sent back
            with their errors).
        fallback: a planner to use when the model cannot produce a valid plan or
            fails (e.g. the offline `RulePlanner`); its errors are added to the model's.
    """

    def __init__(
        self, model: ChatModel, *, max_attempts: int = 3, fallback: Planner | None = None
    ) -> None:
        self.model = model
        self.max_attempts = max_attempts
        self.fallback = fallback

    async def plan(self, request: PlanRequest, ledger: Ledger) -> list[SubtaskSpec]:
        """Ask the model; on failure, the fallback planner (if any)."""
        try:
            return await self._plan(request, ledger)
        except (PlanError, ModelError) as exc:
            if self.fallback is None:
                raise
            model_errors = (
                exc.errors if isinstance(exc, PlanError) else [f"planner model failed: {exc}"]
            )
        try:
            return await self.fallback.plan(request, ledger)
        except PlanError as exc:
            raise PlanError([*model_errors, *(f"fallback: {e}" for e in exc.errors)]) from exc

    async def _plan(self, request: PlanRequest, ledger: Ledger) -> list[SubtaskSpec]:
        """Ask the model for a plan, repairing invalid ones."""
        messages = _plan_messages(request)
        errors: list[str] = []
        for _ in range(self.max_attempts):
            text = ""
            try:
                reply = await ledger.call(self.model, messages, node="plan", schema=PLAN_SCHEMA)
                text = reply.text
                plan = parse_plan(reply.data)
                if request.existing and not plan.subtasks:
                    return []
                return request.validate(plan)
            except ModelOutputError as exc:
                text, errors = exc.text, [str(exc)]
            except PlanError as exc:
                errors = exc.errors
            messages = [*messages, Message("assistant", text), _fix_message(errors)]
        raise PlanError([f"no valid plan after {self.max_attempts} attempts", *errors])


def _plan_messages(request: PlanRequest) -> list[Message]:
    listing = "\n".join(f"- {s.name}: {s.description}" for s in request.specialists)
    system = prompt("planner").format(specialists=listing, max_subtasks=request.max_subtasks)
    messages = [Message("system", system)]
    if request.history:
        messages.append(Message("user", _conversation_text(request.history)))
    messages.append(Message("user", request.request))
    if request.existing:
        messages.append(Message("user", _replan_text(request)))
    return messages


_TURNS_SHOWN = 5
_CHARS_SHOWN = 600


def _conversation_text(history: Sequence[Turn]) -> str:
    """Earlier turns (the last few, each cut short), so follow-ups can refer back."""
    shown = history[-_TURNS_SHOWN:]
    lines = [
        f"Turn {len(history) - len(shown) + i}: asked {t['request'][:_CHARS_SHOWN]!r}; "
        f"answered {t['answer'][:_CHARS_SHOWN]!r}; verified results {json.dumps(t['verified'])}"
        for i, t in enumerate(shown, 1)
    ]
    return prompt("conversation").format(turns="\n".join(lines))


def _replan_text(request: PlanRequest) -> str:
    failures = "\n".join(
        f"- {r['id']} ({r['specialist']}): {r['instruction']!r} -> {r['status']}: "
        + "; ".join(e["message"] for e in r["errors"][:3])
        for r in request.failed
    )
    done = json.dumps(
        {i: r["answer"] for i, r in request.results.items() if r["status"] in ACCEPTED}
    )
    return prompt("replan").format(failures=failures, done=done)


def _fix_message(errors: Sequence[str]) -> Message:
    listed = "\n".join(f"- {e}" for e in errors)
    return Message(
        "user", f"That plan is invalid:\n{listed}\nReply with a corrected plan, JSON only."
    )
