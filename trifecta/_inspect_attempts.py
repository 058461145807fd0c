"""The run inspector's reading of a turn's ledger: each subtask's attempts (a route
decision, the model calls and the check that followed it) and the planner's and
merger's calls, on one time axis (seconds since the turn started)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from typing_extensions import TypedDict

from trifecta.ledger import LedgerEntry, RouteRecord
from trifecta.verdict import CheckError, Result, check_error

__all__ = ["AttemptView", "SpanView", "attempts_of", "spans_of"]


Why = Literal["first", "escalated", "next", "confirmation", "repair", "unknown"]
"""Why an attempt ran: the route decision's code, or a repair on the same tier."""


class AttemptView(TypedDict):
    """One solve-and-check of a subtask: which tier ran and why, what it spent, how
    long it took and what the check said."""

    number: int
    tier: int | None
    solver: str | None
    why: Why
    reason: str
    models: list[str]
    tokens_in: int
    tokens_out: int
    cost_usd: float
    start_s: float | None
    end_s: float | None
    verdict: str
    """The check's status, or what the tier did without one (``error``,
    ``not applicable``, ``rejected``); empty while it runs."""
    method: str
    evidence: list[str]
    errors: list[CheckError]


class SpanView(TypedDict):
    """A call outside any subtask (the planner's or the merger's)."""

    node: str
    model: str | None
    start_s: float | None
    end_s: float | None
    tokens: int
    cost_usd: float
    detail: str


def _start(entry: LedgerEntry, t0: float) -> float | None:
    started = entry.get("started_at")
    return None if started is None else round(started - t0, 6)


def _end(entry: LedgerEntry, t0: float) -> float | None:
    start = _start(entry, t0)
    return None if start is None else round(start + entry["latency_s"], 6)


def _later(first: float | None, second: float | None) -> float | None:
    return second if first is None else first if second is None else max(first, second)


def _blank(
    number: int,
    start: float | None,
    tier: int | None = None,
    solver: str | None = None,
    why: Why = "unknown",
    reason: str = "",
) -> AttemptView:
    return AttemptView(
        number=number, tier=tier, solver=solver, why=why, reason=reason, models=[],
        tokens_in=0, tokens_out=0, cost_usd=0.0, start_s=start, end_s=start, verdict="",
        method="", evidence=[], errors=[],
    )  # fmt: skip


def _routed(number: int, route: RouteRecord, start: float | None) -> AttemptView:
    return _blank(number, start, route["tier"], route["solver"], route["code"], route["reason"])


def _repair(number: int, before: AttemptView | None) -> AttemptView:
    """The next attempt on the same tier after a rejected check (a repair)."""
    if before is None:
        return _blank(number, None)
    why = "repair: the check's errors were sent back to the same tier"
    return _blank(number, before["end_s"], before["tier"], before["solver"], "repair", why)


def _add(attempt: AttemptView, entry: LedgerEntry, t0: float) -> None:
    """Fold a model call or a check into the attempt it belongs to."""
    attempt["end_s"] = _later(attempt["end_s"], _end(entry, t0))
    if attempt["start_s"] is None:
        attempt["start_s"] = _start(entry, t0)
    if entry["kind"] == "check":
        attempt["verdict"] = entry["verdict"] or "unknown"
        attempt["method"] = entry["detail"]
        attempt["evidence"] = list(entry.get("evidence", []))
        attempt["errors"] = list(entry.get("errors", []))
        return
    attempt["tokens_in"] += entry["tokens_in"]
    attempt["tokens_out"] += entry["tokens_out"]
    attempt["cost_usd"] = round(attempt["cost_usd"] + entry["cost_usd"], 8)
    if entry["model"] and entry["model"] not in attempt["models"]:
        attempt["models"].append(entry["model"])
    if entry["detail"].startswith("error"):
        message = entry["detail"].removeprefix("error").lstrip(": ")
        attempt["errors"].append(check_error("model", message or "the model call failed"))


def attempts_of(
    entries: Sequence[LedgerEntry], t0: float, result: Result | None, end_s: float | None
) -> list[AttemptView]:
    """A subtask's attempts from its ledger entries (in the order they were recorded).

    An attempt that ended without a check (the tier failed or could not take the
    task) is labelled by what the next route decision says it did; the last one by the
    subtask's result, and it ends when the subtask ended (`end_s`).
    """
    out: list[AttemptView] = []
    for entry in entries:
        route = entry.get("route")
        if route is not None:
            if out and not out[-1]["verdict"]:
                out[-1]["verdict"] = route["from_outcome"] or "ended"
                out[-1]["end_s"] = _later(out[-1]["end_s"], _start(entry, t0))
            out.append(_routed(len(out) + 1, route, _start(entry, t0)))
        elif entry["kind"] in ("model", "check"):
            if not out or out[-1]["verdict"]:
                out.append(_repair(len(out) + 1, out[-1] if out else None))
            _add(out[-1], entry, t0)
    if out and not out[-1]["verdict"] and result is not None:
        last = out[-1]
        last["verdict"] = "error" if last["errors"] else result["status"]
        last["errors"] = last["errors"] or list(result["errors"])
        last["end_s"] = _later(last["end_s"], end_s)
    return out


def spans_of(entries: Sequence[LedgerEntry], t0: float) -> list[SpanView]:
    """The turn's model calls made outside any subtask: planning and merging."""
    return [
        SpanView(
            node=e["node"],
            model=e["model"],
            start_s=_start(e, t0),
            end_s=_end(e, t0),
            tokens=e["tokens_in"] + e["tokens_out"],
            cost_usd=e["cost_usd"],
            detail=e["detail"],
        )
        for e in entries
        if e["subtask"] is None and e["kind"] == "model"
    ]
