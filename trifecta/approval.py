"""Approval gates: points where a run pauses (LangGraph ``interrupt()``) to ask a person.

Off by default; switched on with ``approve = ["cloud", "sql", "budget"]`` in the config
or ``Trifecta(..., approve=...)``:

- ``cloud``: before a tier whose model is marked ``privacy = "cloud"`` runs;
- ``sql``: before a query runs on the database (it is shown);
- ``budget``: before a run goes over its budget (approving lifts it for the turn).

Each pause carries an `Approval` (what is asked and why); ``Command(resume=...)`` with
``True``, ``"yes"``, ``"y"``, ``"approve"`` or ``"ok"`` approves, anything else declines.
"""

from __future__ import annotations

from typing import Any, Literal

from typing_extensions import TypedDict

__all__ = ["GATES", "Approval", "Gate", "approved"]

Gate = Literal["cloud", "sql", "budget"]
GATES: tuple[Gate, ...] = ("cloud", "sql", "budget")
_YES = frozenset({"yes", "y", "approve", "approved", "ok", "true"})


class Approval(TypedDict):
    """What an approval gate asks (the value of the interrupt)."""

    gate: Gate
    question: str
    why: str
    subtask: str | None
    specialist: str | None


def approved(answer: Any) -> bool:
    """Whether a resume value approves (True, or yes/y/approve/ok in any case)."""
    if isinstance(answer, bool):
        return answer
    return isinstance(answer, str) and answer.strip().lower().rstrip(".!") in _YES
