"""What a run returns: `RunResult`, its per-subtask rows, and the Jupyter view."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from langchain_core.messages import HumanMessage

from trifecta.graphs.rows import subtask_rows
from trifecta.graphs.state import RunState
from trifecta.ledger import LedgerEntry, Report, report_of
from trifecta.models import Price
from trifecta.savings import RoutingTable, routing_table
from trifecta.verdict import ACCEPTED, SubtaskRow, superseded

__all__ = ["RunResult", "build_result", "turn_of"]


@dataclass(frozen=True)
class RunResult:
    """A finished (or stopped) run.

    Attributes:
        answer: the merged answer.
        subtasks: one `SubtaskRow` per planned subtask (id, specialist, instruction, status,
            answer, evidence, tier, solver, method, errors, elapsed_s, cost_usd).
        report: run totals (tokens, cost, wall time, calls).
        thread_id: the LangGraph thread, for `Trifecta.resume`.
        error: why the run could not be planned, if so.
        stopped: the budget that stopped it, if any.
        pending: the thread has work left (a crashed or paused run): `Trifecta.aresume` it.
        turn: which turn of the thread's conversation this is (1 for the first).
        interrupts: what the paused run asks (an `trifecta.approval.Approval` for a
            built-in gate, or whatever a solver passed to ``interrupt()``); answer with
            ``aresume(thread_id, resume=...)``.
        ledger: every model call, check and routing decision.
        routing: per subtask, the tier that answered and its cost, against sending
            everything to the most expensive configured model (`trifecta.savings`).
        said: the user's message that made this turn (for a turn that answered an
            approval question, the answer).
    """

    answer: str
    subtasks: list[SubtaskRow]
    report: Report
    thread_id: str
    error: str | None = None
    stopped: str | None = None
    ledger: list[LedgerEntry] = field(default_factory=list)
    routing: RoutingTable | None = None
    pending: bool = False
    turn: int = 1
    interrupts: list[Any] = field(default_factory=list)
    said: str = ""

    @property
    def ok(self) -> bool:
        """True when every subtask was verified or checked, or (when it failed) another
        specialist's re-plan of its sentence was."""
        rows = [
            (s["id"], s["instruction"], s["specialist"], s["status"] in ACCEPTED)
            for s in self.subtasks
        ]
        replaced = superseded(rows)
        return (
            not self.error
            and not self.stopped
            and not self.pending
            and all(ok or id_ in replaced for id_, _, _, ok in rows)
        )

    def _repr_html_(self) -> str:
        """Jupyter view: the answer, a table of subtasks, the totals."""
        colors = {
            "verified": "#1a7f37",
            "checked": "#0969da",
            "rejected": "#cf222e",
            "unverifiable": "#9a6700",
        }
        rows = "".join(
            f"<tr><td>{escape(s['id'])}</td><td>{escape(s['specialist'])}</td>"
            f"<td style='color:{colors.get(s['status'], '#000')}'><b>{escape(s['status'])}</b></td>"
            f"<td>{escape(str(s['answer']))}</td><td>{'-' if s['tier'] is None else s['tier']}"
            f" ({escape(str(s['solver']))})</td><td>{s['elapsed_s']:.3f}s</td><td>${s['cost_usd']:.6f}</td></tr>"
            for s in self.subtasks
        )
        r = self.report
        saving = ""
        if self.routing and self.routing["reference_model"]:
            t = self.routing
            saving = (
                f" · all {escape(str(t['reference_model']))}: ${t['all_expensive_usd']:.6f}"
                f" (saved ${t['saving_usd']:.6f})"
            )
        head = "".join(
            f"<th>{h}</th>"
            for h in ("id", "specialist", "status", "answer", "tier", "time", "cost")
        )
        return (
            f"<div><pre>{escape(self.answer)}</pre><table><tr>{head}</tr>{rows}</table>"
            f"<p>tokens {r['tokens_in']} in / {r['tokens_out']} out · ${r['cost_usd']:.6f}{saving} · {r['wall_s']:.2f}s"
            f" · thread {escape(self.thread_id)}</p></div>"
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``trifecta run --json``."""
        return {
            "answer": self.answer,
            "subtasks": self.subtasks,
            "report": dict(self.report),
            "thread_id": self.thread_id,
            "error": self.error,
            "stopped": self.stopped,
            "pending": self.pending,
            "turn": self.turn,
            "interrupts": self.interrupts,
            "routing": self.routing,
        }


def build_result(state: RunState, thread_id: str, reference: tuple[str, Price] | None) -> RunResult:
    """The current turn of a thread's state as a `RunResult` (its report and ledger
    cover this turn, resumes included, not the conversation's earlier turns)."""
    mark = state.get("turn")
    entries = list(state.get("ledger", [])[mark["entries_from"] if mark else 0 :])
    subtasks = subtask_rows(state, entries)
    wall = state.get("wall_s", 0.0) - (mark["wall_before_s"] if mark else 0.0)
    return RunResult(
        answer=state.get("answer", ""),
        subtasks=subtasks,
        report=report_of(entries, wall),
        thread_id=thread_id,
        error=state.get("error"),
        stopped=state.get("stopped") or None,
        ledger=entries,
        routing=routing_table(subtasks, entries, reference),
        turn=turn_of(state),
        said=next(
            (m.text for m in reversed(state.get("messages", [])) if isinstance(m, HumanMessage)),
            "",
        ),
    )


def turn_of(state: RunState) -> int:
    """Which turn of the conversation the state is at: its user messages."""
    return max(1, sum(isinstance(m, HumanMessage) for m in state.get("messages", [])))
