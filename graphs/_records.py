"""Log records of a run's steps: plan, attempt, verdict, escalation, subtask, merge.

Each goes to its logger in the ``trifecta`` hierarchy with its fields in ``extra``
(`trifecta.telemetry.log_extra` adds the event and the thread id). Instructions,
evidence and answers are content: they are added only with content logging on, for a
run that is not sensitive.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from trifecta.ledger import Report, RouteRecord
from trifecta.plan import SubtaskSpec
from trifecta.telemetry import log_content, log_extra
from trifecta.verdict import Result, Verdict

__all__ = ["attempt", "escalation", "merged", "planned", "specialist_log", "subtask", "verdict"]

_plan = logging.getLogger("trifecta.plan")
_merge = logging.getLogger("trifecta.merge")


@lru_cache(maxsize=512)
def specialist_log(name: str) -> logging.Logger:
    """``trifecta.specialist.<name>``."""
    return logging.getLogger(f"trifecta.specialist.{name}")


def planned(specs: Sequence[SubtaskSpec], *, replan: bool, sensitive: Sequence[str]) -> None:
    """One record per plan (and re-plan): its subtasks and their dependencies."""
    if not _plan.isEnabledFor(logging.INFO):
        return
    parts: list[dict[str, Any]] = [
        {"id": s["id"], "specialist": s["specialist"], "depends_on": list(s["depends_on"])}
        for s in specs
    ]
    if log_content(bool(sensitive)):
        for part, spec in zip(parts, specs, strict=True):
            part["instruction"] = spec["instruction"]
    routed = ", ".join(f"{s['id']}→{s['specialist']}" for s in specs)
    _plan.info(
        "%s %d subtask(s): %s",
        "re-planned" if replan else "planned",
        len(specs),
        routed,
        extra=log_extra("replan" if replan else "plan", subtasks=parts, sensitive=list(sensitive)),
    )


def attempt(
    specialist: str, subtask: str, tier: int, solver: str, number: int, outcome: str, seconds: float
) -> None:
    """One record per solver attempt, with what came of it (``answered``, ``not
    applicable``, ``unusable reply``, ``model failed``, ``solver error``, ``budget``,
    ``paused``)."""
    log = specialist_log(specialist)
    if not log.isEnabledFor(logging.DEBUG):
        return
    log.debug(
        "%s tier %d (%s) attempt %d: %s in %.1f ms",
        subtask, tier, solver, number, outcome, seconds * 1000,
        extra=log_extra(
            "attempt", specialist=specialist, subtask=subtask, tier=tier, solver=solver,
            attempt=number, outcome=outcome, latency_ms=round(seconds * 1000, 3),
        ),
    )  # fmt: skip


def verdict(
    specialist: str, subtask: str, tier: int, found: Verdict, seconds: float, sensitive: bool
) -> None:
    """One record per check of a candidate: its status and method (evidence only with
    content logging)."""
    log = specialist_log(specialist)
    if not log.isEnabledFor(logging.DEBUG):
        return
    fields: dict[str, Any] = {
        "specialist": specialist,
        "subtask": subtask,
        "tier": tier,
        "status": found.status,
        "method": found.method,
        "rules": [e["rule"] for e in found.errors],
        "latency_ms": round(seconds * 1000, 3),
    }
    if log_content(sensitive):
        fields["evidence"] = list(found.evidence)
    log.debug(
        "%s tier %d: %s (%s) in %.1f ms",
        subtask, tier, found.status, found.method, seconds * 1000,
        extra=log_extra("verdict", **fields),
    )  # fmt: skip


def escalation(specialist: str, subtask: str, route: RouteRecord, sensitive: bool) -> None:
    """One record per escalation: from which tier, what it did there, to which tier
    (the router's reason, which may quote a check's errors, only with content logging)."""
    log = specialist_log(specialist)
    if not log.isEnabledFor(logging.INFO):
        return
    fields: dict[str, Any] = {k: v for k, v in route.items() if k != "reason"}
    content = log_content(sensitive)
    if content:
        fields["reason"] = route["reason"]
    log.info(
        "%s escalated from tier %s (%s, %s) to tier %d (%s)%s",
        subtask, route["from_tier"], route["from_solver"], route["from_outcome"], route["tier"],
        route["solver"], f": {route['reason']}" if content else "",
        extra=log_extra("escalation", specialist=specialist, subtask=subtask, **fields),
    )  # fmt: skip


def subtask(result: Result, sensitive: bool) -> None:
    """One record per finished subtask: its final status, tier and attempts."""
    log = specialist_log(result["specialist"])
    if not log.isEnabledFor(logging.INFO):
        return
    fields: dict[str, Any] = {
        key: result[key]
        for key in ("specialist", "status", "method", "tier", "solver", "attempts", "elapsed_s")
    }
    fields["rules"] = [e["rule"] for e in result["errors"]]
    if log_content(sensitive):
        fields |= {"instruction": result["instruction"], "answer": result["answer"]}
    by = "no tier" if result["tier"] is None else f"tier {result['tier']} ({result['solver']})"
    log.info(
        "%s %s by %s after %d attempt(s) in %.1f ms",
        result["id"], result["status"], by, result["attempts"], result["elapsed_s"] * 1000,
        extra=log_extra("subtask", subtask=result["id"], **fields),
    )  # fmt: skip


def merged(
    answer: str, rows: Sequence[Mapping[str, Any]], report: Report, ok: bool, sensitive: bool
) -> None:
    """One record per merge: the run's status counts, tokens, cost and wall time."""
    if not _merge.isEnabledFor(logging.INFO):
        return
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    fields: dict[str, Any] = {"ok": ok, "statuses": counts, **report}
    if log_content(sensitive):
        fields["answer"] = answer
    summary = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no subtasks"
    _merge.info(
        "merged %d subtask(s): %s; %s; %d tokens, $%.6f, %.2f s",
        len(rows), summary, "ok" if ok else "not ok", report["tokens_in"] + report["tokens_out"],
        report["cost_usd"], report["wall_s"],
        extra=log_extra("merge", **fields),
    )  # fmt: skip
