"""One row per planned subtask: its result (or why it did not run) and what it cost."""

from __future__ import annotations

from collections.abc import Sequence

from trifecta.graphs.state import RunState
from trifecta.ledger import LedgerEntry
from trifecta.plan import SubtaskSpec
from trifecta.verdict import Result, SubtaskRow, check_error, not_run_reason

__all__ = ["subtask_rows"]


def _not_run(spec: SubtaskSpec, state: RunState) -> Result:
    reason = not_run_reason(spec, state.get("results", {}), state.get("stopped"))
    return Result(
        id=spec["id"],
        specialist=spec["specialist"],
        instruction=spec["instruction"],
        status="unverifiable",
        answer="",
        method="not run",
        evidence=[],
        errors=[check_error("skipped", f"not run: {reason}")],
        tier=None,
        solver=None,
        attempts=0,
        elapsed_s=0.0,
        data={},
    )


def subtask_rows(state: RunState, entries: Sequence[LedgerEntry]) -> list[SubtaskRow]:
    """One row per planned subtask, in plan order, with its model calls' count and cost
    (from `entries`: the turn's ledger entries, since subtask ids repeat across turns)."""
    results = state.get("results", {})
    calls: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        if entry["subtask"] and entry["kind"] == "model":
            calls.setdefault(entry["subtask"], []).append(entry)
    rows: list[SubtaskRow] = []
    for spec in state.get("subtasks", []):
        spent = calls.get(spec["id"], [])
        rows.append(
            SubtaskRow(
                **(results.get(spec["id"]) or _not_run(spec, state)),
                depends_on=list(spec["depends_on"]),
                model_calls=len(spent),
                cost_usd=round(sum(e["cost_usd"] for e in spent), 8),
            )
        )
    return rows
