"""The run inspector's data: one turn of a thread, read from its checkpoint, as plain
JSON-ready records (``GET /runs/{id}.json`` returns them; the page renders them)."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

from langgraph.types import StateSnapshot
from typing_extensions import TypedDict

from trifecta._inspect_attempts import AttemptView, SpanView, attempts_of, spans_of
from trifecta.approval import question_text
from trifecta.audit import AuditKeyError, inspect_audit, load_key
from trifecta.config import Config
from trifecta.graphs.rows import subtask_rows
from trifecta.graphs.state import RunState
from trifecta.ledger import Budget, LedgerEntry, Report, report_of
from trifecta.result import turn_of
from trifecta.verdict import ACCEPTED, CheckError, SubtaskRow

__all__ = [
    "AuditView",
    "BudgetLine",
    "Phase",
    "RunView",
    "SqlView",
    "SubtaskView",
    "audit_view",
    "run_view",
    "snapshot_view",
]

Phase = Literal["running", "paused", "pending", "finished"]
"""``running`` on this server now; ``paused`` waiting for an approval; ``pending`` with
work left but not running here (crashed, or running on another replica); ``finished``."""

SQL_ROWS = 10
"""Rows of a query's result the page shows."""


class SqlView(TypedDict):
    """The query as executed and its first rows (as text)."""

    sql: str
    columns: list[str]
    rows: list[list[str]]
    row_count: int


class SubtaskView(TypedDict):
    """One planned subtask: its result (or that it is running or waiting), its
    attempts, and what its specialist kept (citations, the query, math claims)."""

    id: str
    specialist: str
    instruction: str
    status: str
    answer: str
    method: str
    tier: int | None
    solver: str | None
    depends_on: list[str]
    evidence: list[str]
    errors: list[CheckError]
    attempts: list[AttemptView]
    start_s: float | None
    end_s: float | None
    tokens: int
    cost_usd: float
    critical: bool
    citations: list[dict[str, str]]
    sources: list[str]
    sql: SqlView | None
    claims: list[dict[str, str]]


class BudgetLine(TypedDict):
    """One limit and what was used against it (None: no limit)."""

    scope: Literal["run", "thread"]
    what: Literal["tokens", "cost_usd", "wall_s"]
    used: float
    limit: float | None


class AuditView(TypedDict):
    """What verifying the configured audit log found."""

    path: str
    ok: bool
    summary: list[str]
    problems: list[str]


class RunView(TypedDict):
    """The current turn of a thread, everything the inspector shows."""

    thread_id: str
    phase: Phase
    turn: int
    request: str
    answer: str
    error: str | None
    stopped: str | None
    started_at: float | None
    elapsed_s: float
    counts: dict[str, int]
    report: Report
    budget: list[BudgetLine]
    sensitive: list[str]
    audit: AuditView | None
    interrupts: list[str]
    spans: list[SpanView]
    subtasks: list[SubtaskView]
    critical_path: list[str]
    history: list[dict[str, str]]


_SENSITIVE = {
    "email": "an e-mail address in the conversation",
    "card": "a payment card number in the conversation",
    "iban": "an IBAN in the conversation",
    "requested": "the run was started as sensitive",
}


def _why_sensitive(kind: str) -> str:
    if kind.startswith("pattern:"):
        return f"matches the configured pattern {kind.removeprefix('pattern:')}"
    return _SENSITIVE.get(kind, kind)


def _texts(value: Any, keys: Sequence[str]) -> list[dict[str, str]]:
    """Records of a result's data (untrusted shape) as text fields."""
    if not isinstance(value, list):
        return []
    return [{k: str(item.get(k, "")) for k in keys} for item in value if isinstance(item, dict)]


def _sql(data: Mapping[str, Any]) -> SqlView | None:
    sql, rows = data.get("sql"), data.get("rows")
    if not isinstance(sql, str):
        return None
    rows = rows if isinstance(rows, list) else []
    shown = [[str(c) for c in r] if isinstance(r, list | tuple) else [str(r)] for r in rows]
    columns = data.get("columns")
    return SqlView(
        sql=sql,
        columns=[str(c) for c in columns] if isinstance(columns, list) else [],
        rows=shown[:SQL_ROWS],
        row_count=len(rows),
    )


def _status(
    row: SubtaskRow, done: Mapping[str, str], fresh: Collection[str], phase: Phase, ran: bool
) -> str:
    """The result's status, or (no result yet, the run unfinished) whether it runs now: its
    dependencies were accepted before the step still running began (one that finished in
    it holds its dependents until the whole step is over)."""
    if ran or phase == "finished":
        return row["status"]
    ready = all(done.get(d) in ACCEPTED and d not in fresh for d in row["depends_on"])
    return "running" if ready and phase == "running" else "waiting"


def _subtask(
    row: SubtaskRow, entries: Sequence[LedgerEntry], t0: float, status: str, now_s: float
) -> SubtaskView:
    ran = row["method"] != "not run"
    first = next((e["started_at"] - t0 for e in entries if "started_at" in e), None)
    end = None if first is None or not ran else round(first + row["elapsed_s"], 6)
    attempts = attempts_of(entries, t0, row if ran else None, end)
    data = row["data"] if isinstance(row["data"], dict) else {}
    sources = data.get("sources")
    return SubtaskView(
        id=row["id"], specialist=row["specialist"], instruction=row["instruction"],
        status=status, answer=str(row["answer"]), method=row["method"], tier=row["tier"],
        solver=row["solver"], depends_on=list(row["depends_on"]),
        evidence=[str(e) for e in row["evidence"]], errors=list(row["errors"]),
        attempts=attempts, start_s=None if first is None else round(first, 6),
        end_s=now_s if status == "running" and first is not None else end,
        tokens=sum(a["tokens_in"] + a["tokens_out"] for a in attempts),
        cost_usd=row["cost_usd"], critical=False,
        citations=_texts(data.get("citations"), ("chunk", "quote")),
        sources=[str(s) for s in sources] if isinstance(sources, list) else [],
        sql=_sql(data),
        claims=_texts(data.get("claims"), ("id", "kind", "expr", "answer", "status", "method", "errors")),
    )  # fmt: skip


def _place_running(
    subtasks: Sequence[SubtaskView], spans: Sequence[SpanView], now_s: float
) -> None:
    """A subtask still running has recorded nothing yet: its bar starts when what it
    waited for ended (its dependencies, else the subtasks that started before it, else
    the planner) and runs to now."""
    ends = {s["id"]: s["end_s"] for s in subtasks if s["end_s"] is not None}
    known = [s["start_s"] for s in subtasks if s["start_s"] is not None]
    planned = max((s["end_s"] or 0.0 for s in spans if s["node"] == "plan"), default=0.0)
    for view in subtasks:
        if view["status"] == "running" and view["start_s"] is None:
            deps = [ends[d] or 0.0 for d in view["depends_on"] if d in ends]
            start = max(deps) if deps else min(known, default=planned)
            view["start_s"], view["end_s"] = start, max(now_s, start)


def _critical_path(subtasks: Sequence[SubtaskView]) -> list[str]:
    """What the turn's wall time waited for: from the subtask that ended last, back
    through the subtask that ended latest before each one started. That is often a
    dependency, but not only: LangGraph finishes every subtask of a step before the
    next step starts, so a subtask can wait for one it does not depend on."""
    ended = [s for s in subtasks if s["start_s"] is not None and s["end_s"] is not None]
    if not ended:
        return []
    step = max(ended, key=lambda s: s["end_s"] or 0.0)
    path = [step["id"]]
    while True:
        start = step["start_s"] or 0.0
        before = [s for s in ended if s["id"] not in path and (s["end_s"] or 0.0) <= start]
        if not before:
            return path[::-1]
        deps = step["depends_on"]
        step = max(before, key=lambda s: (s["end_s"] or 0.0, s["id"] in deps))
        path.append(step["id"])


def _budget(
    report: Report, entries: Sequence[LedgerEntry], thread_wall: float, run: Budget, thread: Budget
) -> list[BudgetLine]:
    tokens = sum(e["tokens_in"] + e["tokens_out"] for e in entries)
    return [
        BudgetLine(scope="run", what="tokens", used=report["tokens_in"] + report["tokens_out"],
                   limit=run.max_tokens),
        BudgetLine(scope="run", what="cost_usd", used=report["cost_usd"], limit=run.max_cost_usd),
        BudgetLine(scope="run", what="wall_s", used=report["wall_s"], limit=run.max_wall_s),
        BudgetLine(scope="thread", what="tokens", used=tokens, limit=thread.max_tokens),
        BudgetLine(scope="thread", what="cost_usd", used=round(sum(e["cost_usd"] for e in entries), 8),
                   limit=thread.max_cost_usd),
        BudgetLine(scope="thread", what="wall_s", used=round(thread_wall, 4),
                   limit=thread.max_wall_s),
    ]  # fmt: skip


def run_view(
    state: RunState,
    thread_id: str,
    phase: Phase,
    *,
    budget: Budget | None = None,
    thread_budget: Budget | None = None,
    audit: AuditView | None = None,
    interrupts: Sequence[Any] = (),
    fresh: Collection[str] = (),
    now: float | None = None,
) -> RunView:
    """The current turn of `state` (a thread's checkpoint values) as the inspector shows
    it. `budget` and `thread_budget` are the limits the run was given (the server's or
    the config's); `fresh` the subtasks that finished in the step still running; `now`
    (epoch seconds) ends the bars of subtasks still running."""
    mark = state.get("turn")
    ledger = list(state.get("ledger", []))
    entries = ledger[mark["entries_from"] if mark else 0 :]
    t0 = (
        mark["started_at"]
        if mark
        else min((e.get("started_at", 0.0) for e in entries), default=0.0)
    )
    now_s = round((now if now is not None else time.time()) - t0, 6) if t0 else 0.0
    wall_before = mark["wall_before_s"] if mark else 0.0
    finished_wall = state.get("wall_s", 0.0) - wall_before
    wall = now_s if phase == "running" else finished_wall
    results = state.get("results", {})
    done = {i: r["status"] for i, r in results.items()}
    by_subtask: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        if entry["subtask"] is not None:
            by_subtask.setdefault(entry["subtask"], []).append(entry)
    subtasks = [
        _subtask(row, by_subtask.get(row["id"], []), t0,
                 _status(row, done, fresh, phase, row["id"] in results), now_s)
        for row in subtask_rows(state, entries)
    ]  # fmt: skip
    _place_running(subtasks, spans := spans_of(entries, t0), now_s)
    critical = _critical_path(subtasks)
    for view in subtasks:
        view["critical"] = view["id"] in critical
    counts: dict[str, int] = {}
    for view in subtasks:
        counts[view["status"]] = counts.get(view["status"], 0) + 1
    report = report_of(entries, wall)
    history = state.get("history", [])[: turn_of(state) - 1]
    return RunView(
        thread_id=thread_id, phase=phase, turn=turn_of(state), request=state.get("request", ""),
        answer=state.get("answer", ""), error=state.get("error"),
        stopped=state.get("stopped") or None, started_at=t0 or None, elapsed_s=wall,
        counts=counts, report=report,
        budget=_budget(report, ledger, max(state.get("wall_s", 0.0), wall_before + wall),
                       budget or Budget(), thread_budget or Budget()),
        sensitive=[_why_sensitive(k) for k in state.get("sensitive", [])],
        audit=audit, interrupts=[question_text(q) for q in interrupts],
        spans=spans, subtasks=subtasks, critical_path=critical,
        history=[{"request": t["request"], "answer": t["answer"]} for t in history],
    )  # fmt: skip


def snapshot_view(
    snapshot: StateSnapshot,
    thread_id: str,
    *,
    running: bool,
    budget: Budget | None = None,
    thread_budget: Budget | None = None,
    audit: AuditView | None = None,
) -> RunView:
    """`run_view` of a thread's latest snapshot (`Trifecta.snapshot`); `running`: a run
    on it is in progress in this process."""
    phase: Phase = "finished"
    if running:
        phase = "running"
    elif snapshot.interrupts:
        phase = "paused"
    elif snapshot.next:
        phase = "pending"
    fresh = [
        str(i)
        for task in snapshot.tasks
        if isinstance(task.result, dict) and isinstance(task.result.get("results"), dict)
        for i in task.result["results"]
    ]
    return run_view(
        cast(RunState, snapshot.values), thread_id, phase, budget=budget,
        thread_budget=thread_budget, audit=audit, fresh=fresh,
        interrupts=[i.value for i in snapshot.interrupts],
    )  # fmt: skip


def audit_view(config: Config) -> AuditView | None:
    """What verifying the configured audit log finds (None when none is configured): the
    chain, the HMACs with the configured key, the heads, as `trifecta audit verify`."""
    if not config.audit_log:
        return None
    path = Path(config.audit_log)
    try:
        key = load_key(config.audit_key_file, config.audit_key_env)
        head_db = None if config.checkpoint_url == "memory" else config.checkpoint_url
        report = inspect_audit(path, key=key, head_db=head_db)
    except (AuditKeyError, OSError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return AuditView(path=str(path), ok=False, summary=[], problems=[f"cannot check: {why}"])
    return AuditView(
        path=str(path), ok=report.ok, summary=report.summary(), problems=list(report.problems)
    )
