"""Approval gates: points where a run pauses (LangGraph ``interrupt()``) to ask a person.

Off by default; switched on with ``approve = ["cloud", "sql", "budget"]`` in the config
or ``Trifecta(..., approve=...)``:

- ``cloud``: before a tier whose model is marked ``privacy = "cloud"`` runs;
- ``sql``: before a query runs on the database (it is shown);
- ``budget``: before a run goes over its budget (approving lifts it for the turn).

Each pause carries an `Approval` (what is asked and why); ``Command(resume=...)`` with
``True``, ``"yes"``, ``"y"``, ``"approve"`` or ``"ok"`` approves, anything else declines.

LangGraph runs a paused node again from its start on resume, and a model may then write
a different query than the one shown. An answer bound to its question,
``{"answer": "yes", "question": <the question>}``, approves only that question; a
different one is asked anew. `Trifecta.aresume`, ``trifecta run --approve`` and
``trifecta serve`` bind every answer; a bare ``Command(resume="yes")`` is not bound.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

__all__ = ["GATES", "Approval", "Gate", "approved", "ask", "bind", "question_text"]

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
    spent: NotRequired[list[Any]]
    """The ledger entries the paused step recorded before asking: LangGraph re-runs it
    on resume, so `Trifecta.aresume` adds them to the thread's ledger (they were paid)."""


def approved(answer: Any) -> bool:
    """Whether a resume value approves (True, or yes/y/approve/ok in any case)."""
    if isinstance(answer, bool):
        return answer
    return isinstance(answer, str) and answer.strip().lower().rstrip(".!") in _YES


def bind(question: Any, answer: Any) -> Any:
    """`answer` bound to `question` when it is an `Approval` (else as it is)."""
    if isinstance(question, dict) and "gate" in question and "question" in question:
        return {"answer": answer, "question": question["question"]}
    return answer


def question_text(question: Any) -> str:
    """What a paused run asks, for people: the question and why (an `Approval`), or
    whatever a solver passed to ``interrupt()`` as text."""
    if isinstance(question, dict):
        why = f" ({question['why']})" if question.get("why") else ""
        return f"{question.get('question', question)}{why}"
    return str(question)


def ask(question: Approval) -> bool:
    """Pause the graph (LangGraph ``interrupt()``) until a person answers `question`;
    True when they approve. An answer bound to another question (a re-run wrote a
    different one) does not count: this question is asked instead."""
    from langgraph.types import interrupt

    from trifecta.ledger import captured

    spent = captured()  # lost with this step's update; `Trifecta.aresume` adds them back
    while True:
        answer = interrupt({**question, "spent": spent} if spent else question)
        if isinstance(answer, dict) and "question" in answer:
            if answer["question"] != question["question"]:
                continue
            return approved(answer.get("answer"))
        return approved(answer)
