"""Verdicts: what a deterministic check concluded, and the result of a subtask."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, NotRequired

from typing_extensions import TypedDict

if TYPE_CHECKING:  # plan loads pydantic; verdict stays a light leaf
    from trifecta.plan import SubtaskSpec

__all__ = [
    "ACCEPTED",
    "CheckError",
    "CheckVerdict",
    "Result",
    "Status",
    "SubtaskRow",
    "Verdict",
    "check_error",
    "not_run_reason",
    "superseded",
]

Status = Literal["verified", "checked", "rejected", "unverifiable"]
"""`verified`: independently proven; `checked`: passed every check (e.g. a query ran
read-only) without a second proof; `rejected`: a check found it wrong;
`unverifiable`: nothing could confirm or refute it."""

ACCEPTED: frozenset[str] = frozenset({"verified", "checked"})


class CheckError(TypedDict):
    """One failed check, structured so a repair prompt can quote it."""

    rule: str
    message: str
    position: NotRequired[int | None]


def check_error(rule: str, message: str, position: int | None = None) -> CheckError:
    """Build a `CheckError`; `position` is a character offset when known."""
    error: CheckError = {"rule": rule, "message": message}
    if position is not None:
        error["position"] = position
    return error


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one candidate answer.

    Attributes:
        status: see `Status`.
        method: how it was checked (e.g. ``"sympy: numeric quadrature"``).
        evidence: what was checked, human-readable.
        errors: what failed; fed back to the solver for repair.
        answer: the final answer text when the check itself produced it (a query's
            rows), replacing the candidate's text.
        data: structured output to keep with the result (rows, citations).
    """

    status: Status
    method: str
    evidence: tuple[str, ...] = ()
    errors: tuple[CheckError, ...] = ()
    answer: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        """True when the status is `verified` or `checked`."""
        return self.status in ACCEPTED

    @property
    def messages(self) -> list[str]:
        """The errors' messages, in order."""
        return [e["message"] for e in self.errors]


@dataclass(frozen=True)
class CheckVerdict(Verdict):
    """The verdict on one item of a batch check (`check_math`, `check_queries`; the
    lines of ``trifecta check`` and the MCP tools are written from it).

    Attributes:
        id: the item's ``id``, as given (None when it had none).
        elapsed_ms: how long its check took, when measured.
    """

    id: Any = None
    elapsed_ms: float | None = None

    @classmethod
    def of(cls, verdict: Verdict, id: Any, elapsed_ms: float | None = None) -> CheckVerdict:
        """`verdict` as the verdict on the item `id`."""
        shared = {f.name: getattr(verdict, f.name) for f in fields(Verdict)}
        return cls(**shared, id=id, elapsed_ms=elapsed_ms)


class Result(TypedDict):
    """The final record of one subtask, as stored in the graph state."""

    id: str
    specialist: str
    instruction: str
    status: Status
    answer: str
    method: str
    evidence: list[str]
    errors: list[CheckError]
    tier: int | None
    solver: str | None
    attempts: int
    elapsed_s: float
    data: dict[str, Any]


class SubtaskRow(Result):
    """One planned subtask in a run's result, built once from the graph state: its
    `Result` (or a "not run" one), its dependencies, and what its model calls cost.
    The CLI, the server, the notebook view, evaluation and the routing table read it."""

    depends_on: list[str]
    model_calls: int
    cost_usd: float


def not_run_reason(spec: SubtaskSpec, results: Mapping[str, Result], stopped: str | None) -> str:
    """Why a planned subtask never ran: a dependency that was not accepted, or the stop."""
    bad = [
        d
        for d in spec["depends_on"]
        if (r := results.get(d)) is None or r["status"] not in ACCEPTED
    ]
    if bad:
        return "depends on " + ", ".join(bad) + ", not verified"
    return stopped or "the run stopped first"


def superseded(rows: Iterable[tuple[str, str, str, bool]]) -> set[str]:
    """Ids of subtasks that were not accepted but whose sentence a subtask of another
    specialist answered (a re-plan). Each row is (id, instruction, specialist, accepted)."""
    listed = list(rows)
    answered = {(text, name) for _, text, name, ok in listed if ok}
    return {
        id_
        for id_, text, name, ok in listed
        if not ok and any(text == t and name != n for t, n in answered)
    }
