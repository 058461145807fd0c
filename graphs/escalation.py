"""The escalation loop: each tier of a specialist, cheapest first (or as a `Router`
decides), with verification, repair attempts and budget stops, down to one `Result`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from langgraph.errors import GraphBubbleUp

from trifecta.approval import Approval, Gate, ask
from trifecta.graphs import _records as records
from trifecta.ledger import BudgetExceeded, Ledger, RouteRecord
from trifecta.models import ModelError, ModelOutputError
from trifecta.routing import (
    Attempt,
    Route,
    RouteContext,
    Router,
    TierInfo,
    chain_info,
    cheapest_first,
    route_record,
)
from trifecta.specialists.base import (
    Candidate,
    CannotSolve,
    Job,
    Solver,
    Specialist,
    call_off_loop,
)
from trifecta.telemetry import AttributeValue, agent_span, escalation_event, log_content
from trifecta.verdict import CheckError, Result, Status, Verdict, check_error

__all__ = ["Outcome", "run_specialist"]


@dataclass(frozen=True)
class Outcome:
    """What `run_specialist` returns: the result, and the budget reason if it stopped."""

    result: Result
    stopped: str | None = None


@dataclass
class _Trail:
    """What the loop has seen so far for one subtask."""

    started: float = field(default_factory=time.monotonic)
    attempts: int = 0
    evidence: list[str] = field(default_factory=list)
    last: tuple[Verdict, Candidate, int, str] | None = None
    errors: list[CheckError] = field(default_factory=list)


async def run_specialist(
    spec: Specialist,
    subtask: str,
    instruction: str,
    ledger: Ledger,
    router: Router | None = None,
    gates: Collection[Gate] = (),
    transient_raises: bool = False,
) -> Outcome:
    """Run the tiers of `spec` on one instruction until a verdict is accepted.

    The router (default `cheapest_first`) picks each tier; its decision and reason are
    recorded. Per tier: solve, verify; on failure feed the errors back (repairable
    tiers only, at most `spec.max_attempts` times), then ask the router again.
    Solver, verifier and router exceptions become labelled failures, never crashes.
    With the ``cloud`` gate, a cloud model's tier runs only once a person approves
    (declined: the router picks another); with ``budget``, going over the budget is
    asked instead of stopping (approved: the budgets are lifted for this run).
    With `transient_raises` (a node attempt before the last of the specialist's
    `retry` policy), a transient model or network failure leaves the loop so LangGraph
    runs the node again. Past the specialist's `timeout`, the subtask ends as labelled
    by what it had (unverifiable, or the last rejected answer).
    """
    trail = _Trail()
    deadline = asyncio.timeout(spec.timeout)
    with agent_span(spec.name, subtask, paused=(GraphBubbleUp,)) as current:
        try:
            async with deadline:
                outcome = await _escalate(
                    spec, subtask, instruction, ledger, router, gates, transient_raises, trail
                )
        except TimeoutError:
            if not deadline.expired():  # a tier's own timeout, raised for the node's retry
                raise
            message = f"no accepted answer within the specialist's timeout of {spec.timeout:g}s"
            trail.evidence.append(message)
            trail.errors.append(check_error("timeout", message))
            outcome = Outcome(_failure(spec, subtask, instruction, trail))
        if current is not None:
            current.set_attributes(_span_attributes(outcome))
    records.subtask(outcome.result, bool(ledger.sensitive))
    return outcome


def _span_attributes(outcome: Outcome) -> dict[str, str | int]:
    """The subtask span's ``trifecta.*`` attributes: verdict, tier, solver, attempts."""
    result = outcome.result
    found: dict[str, str | int] = {
        "trifecta.verdict": result["status"],
        "trifecta.method": result["method"],
        "trifecta.attempts": result["attempts"],
    }
    if result["tier"] is not None and result["solver"] is not None:
        found |= {"trifecta.tier": result["tier"], "trifecta.solver": result["solver"]}
    if outcome.stopped:
        found["trifecta.stopped"] = outcome.stopped
    return found


async def _escalate(
    spec: Specialist,
    subtask: str,
    instruction: str,
    ledger: Ledger,
    router: Router | None,
    gates: Collection[Gate],
    transient_raises: bool,
    trail: _Trail,
) -> Outcome:
    route = router or cheapest_first
    tiers = chain_info(spec.tiers)
    history: list[Attempt] = []
    while True:
        ctx = RouteContext(
            spec.name, subtask, instruction, tiers, tuple(history), tuple(ledger.sensitive)
        )
        decision = _decide(route, ctx, trail)
        if decision is None:
            break
        solver = spec.tiers[decision.tier]
        record = route_record(ctx, decision)
        ledger.record_route(specialist=spec.name, subtask=subtask, route=record)
        if record["code"] in ("escalated", "next"):
            _escalated(spec.name, subtask, record, bool(ledger.sensitive))
        if "cloud" in gates and not _cloud_approved(spec, subtask, tiers[decision.tier], record):
            declined = "a person declined sending it to a cloud model"
            trail.evidence.append(f"tier {decision.tier} ({solver.name}): {declined}")
            history.append(Attempt(decision.tier, "not applicable", declined))
            continue
        try:
            done = await _run_tier(
                spec, subtask, instruction, decision.tier, solver, ledger, trail, transient_raises
            )
            if not isinstance(done, Attempt) and done["status"] == "checked" and spec.agree:
                done = await _confirm(spec, done, ledger)
        except BudgetExceeded as exc:
            if "budget" in gates and _over_budget_approved(spec, subtask, exc):
                ledger.lift_budgets()
                trail.evidence.append(f"over budget ({exc.reason}): a person approved going on")
                continue
            trail.errors.append(check_error("budget", exc.reason))
            return Outcome(_failure(spec, subtask, instruction, trail), stopped=exc.reason)
        if isinstance(done, Attempt):
            history.append(done)
            continue
        return Outcome(done)
    _explain_privacy(tiers, history, ledger.sensitive, trail)
    return Outcome(_failure(spec, subtask, instruction, trail))


def _escalated(specialist: str, subtask: str, record: RouteRecord, sensitive: bool) -> None:
    """Log an escalation and mark it on the subtask's span: the reason is what the tier
    before did (rejected, error, not applicable); the router's words only with content
    logging."""
    records.escalation(specialist, subtask, record, sensitive)
    event: dict[str, AttributeValue] = {
        "trifecta.tier": record["tier"],
        "trifecta.solver": record["solver"],
        "trifecta.escalation.code": record["code"],
        "trifecta.escalation.reason": record["from_outcome"] or record["code"],
    }
    if record["from_tier"] is not None:
        event["trifecta.escalation.from_tier"] = record["from_tier"]
    if log_content(sensitive):
        event["trifecta.escalation.detail"] = record["reason"]
    escalation_event(event)


def _cloud_approved(spec: Specialist, subtask: str, tier: TierInfo, record: RouteRecord) -> bool:
    if not tier.model or tier.privacy != "cloud":
        return True
    return ask(
        Approval(
            gate="cloud",
            question=f"Send subtask {subtask} ({spec.name}) to the cloud model {tier.name}?",
            why=record["reason"],
            subtask=subtask,
            specialist=spec.name,
        )
    )


def _over_budget_approved(spec: Specialist, subtask: str, exc: BudgetExceeded) -> bool:
    return ask(
        Approval(
            gate="budget",
            question=f"Go over the budget to finish subtask {subtask} ({spec.name})?",
            why=exc.reason,
            subtask=subtask,
            specialist=spec.name,
        )
    )


def _decide(route: Router, ctx: RouteContext, trail: _Trail) -> Route | None:
    """Ask the router; a router that fails or picks an invalid or already-tried tier
    ends the loop with the reason in the evidence."""
    try:
        decision = route(ctx)
    except GraphBubbleUp:  # interrupt(): LangGraph pauses the graph
        raise
    except Exception as exc:  # a broken router labels the result, never crashes the run
        trail.evidence.append(f"router error: {exc!r}")
        trail.errors.append(check_error("router", repr(exc)))
        return None
    if decision is None:
        return None
    tried = {a.tier for a in ctx.history}
    if not 0 <= decision.tier < len(ctx.tiers) or decision.tier in tried:
        problem = "does not exist" if decision.tier not in range(len(ctx.tiers)) else "already ran"
        message = f"the router chose tier {decision.tier}, which {problem}"
        trail.evidence.append(message)
        trail.errors.append(check_error("router", message))
        return None
    return decision


def _explain_privacy(
    tiers: Sequence[TierInfo], history: list[Attempt], sensitive: Sequence[str], trail: _Trail
) -> None:
    """When a sensitive run ran out of tiers while cloud tiers were never tried, say so."""
    tried = {a.tier for a in history}
    skipped = [t.name for t in tiers if t.index not in tried and t.privacy != "local"]
    if sensitive and skipped:
        message = (
            f"this run is sensitive ({', '.join(sensitive)}) and no local tier could serve it; "
            f"cloud models not used: {', '.join(skipped)}"
        )
        trail.evidence.append(message)
        trail.errors.append(check_error("privacy", message))


async def _run_tier(
    spec: Specialist,
    subtask: str,
    instruction: str,
    tier: int,
    solver: Solver,
    ledger: Ledger,
    trail: _Trail,
    transient_raises: bool = False,
) -> Result | Attempt:
    limit = spec.max_attempts if solver.repairable else 1
    job = Job(subtask, spec.name, instruction, tier, 1)
    for attempt in range(1, limit + 1):
        trail.attempts += 1
        label = f"tier {tier} ({solver.name}) attempt {attempt}"
        try:
            candidate = await _solve(spec, solver, job, ledger)
        except (BudgetExceeded, GraphBubbleUp):  # a budget stop, or interrupt() pausing the graph
            raise
        except CannotSolve as exc:
            trail.evidence.append(f"{label}: not applicable: {exc}")
            return Attempt(tier, "not applicable", str(exc))
        except ModelOutputError as exc:
            trail.evidence.append(f"{label}: unusable reply: {exc}")
            trail.errors = [check_error("output", str(exc))]
            job = Job(subtask, spec.name, instruction, tier, attempt + 1, tuple(trail.errors))
            continue
        except (ModelError, TimeoutError) as exc:
            if transient_raises:  # the node's RetryPolicy runs it again after its back-off
                raise
            detail = str(exc) or type(exc).__name__
            trail.evidence.append(f"{label}: model failed: {detail}")
            trail.errors = [check_error("model", detail)]
            return Attempt(tier, "error", detail)
        except Exception as exc:  # a broken solver escalates, never crashes the run
            trail.evidence.append(f"{label}: solver error: {exc!r}")
            trail.errors = [check_error("solver", repr(exc))]
            return Attempt(tier, "error", repr(exc))
        verdict = await _verify(spec, job, candidate, ledger)
        trail.evidence.append(f"{label}: {verdict.status} ({verdict.method})")
        if verdict.accepted:
            return _success(
                spec, subtask, instruction, tier, solver.name, candidate, verdict, trail
            )
        trail.last = (verdict, candidate, tier, solver.name)
        trail.errors = list(verdict.errors)
        if any(e["rule"] == "approval" for e in verdict.errors):
            return Attempt(tier, "rejected", "a person declined it")  # no repair re-asks
        job = Job(subtask, spec.name, instruction, tier, attempt + 1, verdict.errors, candidate)
    first = trail.errors[0]["message"] if trail.errors else "no accepted answer"
    return Attempt(tier, "rejected", f"{limit} attempt(s), last: {first}")


async def _confirm(spec: Specialist, first: Result, ledger: Ledger) -> Result:
    """One independent generation from the next tier that can answer; agreement
    upgrades `checked` to `verified`. Budget stops propagate; other failures keep
    the result as it was, with the reason in its evidence."""
    assert spec.agree is not None and first["tier"] is not None
    tiers = chain_info(spec.tiers)
    for tier in range(first["tier"] + 1, len(spec.tiers)):
        solver = spec.tiers[tier]
        if ledger.sensitive and tiers[tier].privacy != "local":
            continue
        job = Job(first["id"], spec.name, first["instruction"], tier, 1)
        label = f"confirmation by tier {tier} ({solver.name})"
        confirming = RouteRecord(
            tier=tier,
            solver=tiers[tier].name,
            calls_model=tiers[tier].model,
            code="confirmation",
            from_tier=first["tier"],
            from_solver=first["solver"],
            from_outcome=None,
            reason=f"independent generation to check tier {first['tier']}'s checked result",
        )
        ledger.record_route(specialist=spec.name, subtask=first["id"], route=confirming)
        try:
            candidate = await _solve(spec, solver, job, ledger)
        except (BudgetExceeded, GraphBubbleUp):
            raise
        except Exception as exc:  # CannotSolve, model errors: try the next tier
            first["evidence"].append(f"{label}: no answer: {exc}")
            continue
        verdict = await _verify(spec, job, candidate, ledger)
        if verdict.accepted and spec.agree(first["data"], verdict.data):
            first["evidence"].append(f"{label}: independent generation agrees")
            return {
                **first,
                "status": "verified",
                "method": f"{first['method']} + agreement with tier {tier}",
            }
        first["evidence"].append(f"{label}: {verdict.status}, does not agree")
        return first
    return first


async def _solve(spec: Specialist, solver: Solver, job: Job, ledger: Ledger) -> Candidate:
    """One attempt of `solver`, logged with what came of it."""
    started = time.monotonic()
    outcome = "answered"
    try:
        return await solver.solve(job, ledger)
    except BaseException as exc:
        outcome = _attempt_outcome(exc)
        raise
    finally:
        records.attempt(
            spec.name, job.subtask, job.tier, solver.name, job.attempt, outcome,
            time.monotonic() - started,
        )  # fmt: skip


def _attempt_outcome(exc: BaseException) -> str:
    """What an attempt that raised came to, as its log record says it."""
    if isinstance(exc, CannotSolve):
        return "not applicable"
    if isinstance(exc, ModelOutputError):
        return "unusable reply"
    if isinstance(exc, ModelError | TimeoutError):
        return "model failed"
    if isinstance(exc, BudgetExceeded):
        return "budget"
    if isinstance(exc, GraphBubbleUp):
        return "paused"
    return "solver error" if isinstance(exc, Exception) else "cancelled"


async def _verify(spec: Specialist, job: Job, candidate: Candidate, ledger: Ledger) -> Verdict:
    started = time.monotonic()
    try:
        verdict: Verdict = await call_off_loop(spec.verify, job, candidate)
    except GraphBubbleUp:
        raise
    except Exception as exc:  # a broken verifier labels the result, never crashes the run
        verdict = Verdict(
            "unverifiable", "verifier error", errors=(check_error("verifier", repr(exc)),)
        )
    seconds = time.monotonic() - started
    ledger.record_check(
        node=spec.name,
        specialist=spec.name,
        subtask=job.subtask,
        verdict=verdict.status,
        latency_s=seconds,
        detail=verdict.method,
        evidence=verdict.evidence,
        errors=verdict.errors,
    )
    records.verdict(spec.name, job.subtask, job.tier, verdict, seconds, bool(ledger.sensitive))
    return verdict


def _success(
    spec: Specialist,
    subtask: str,
    instruction: str,
    tier: int,
    solver: str,
    candidate: Candidate,
    verdict: Verdict,
    trail: _Trail,
) -> Result:
    return Result(
        id=subtask,
        specialist=spec.name,
        instruction=instruction,
        status=verdict.status,
        answer=verdict.answer if verdict.answer is not None else candidate.answer,
        method=verdict.method,
        evidence=[*trail.evidence, *verdict.evidence],
        errors=[],
        tier=tier,
        solver=solver,
        attempts=trail.attempts,
        elapsed_s=round(time.monotonic() - trail.started, 6),
        data=verdict.data,
    )


def _failure(spec: Specialist, subtask: str, instruction: str, trail: _Trail) -> Result:
    status: Status
    if trail.last is None:
        status, answer, method, tier, solver, data = "unverifiable", "", "no solver", None, None, {}
        if not trail.errors:
            why = trail.evidence[-1] if trail.evidence else "no tiers configured"
            trail.errors = [check_error("solver", f"no tier could handle this instruction ({why})")]
    else:
        verdict, candidate, tier_, solver_ = trail.last
        status, method, tier, solver, data = (
            verdict.status,
            verdict.method,
            tier_,
            solver_,
            verdict.data,
        )
        answer = verdict.answer if verdict.answer is not None else candidate.answer
    return Result(
        id=subtask,
        specialist=spec.name,
        instruction=instruction,
        status=status,
        answer=answer,
        method=method,
        evidence=trail.evidence,
        errors=trail.errors,
        tier=tier,
        solver=solver,
        attempts=trail.attempts,
        elapsed_s=round(time.monotonic() - trail.started, 6),
        data=data,
    )
