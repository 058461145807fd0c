"""The math specialist: SymPy solves formal requests (tier 0); models answer with
claims that SymPy checks (tiers 1+). Every SymPy call runs in a killable worker.

Its parts are public too: `to_claim` reads a formal request ("Integrate x^2 from 0 to 3")
as the claim tier 0 computes, `check_claim` checks one claim in this process and
`check_math` checks many, each in a killable worker, and `claim_line` writes one of
their verdicts as the JSON line of ``trifecta check math``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from importlib import resources
from typing import Any

from trifecta.linear_re import INLINE_CHARS
from trifecta.models import ChatModel, ModelOutputError, OutputSchema
from trifecta.sandbox import IsolatedError, IsolatedTimeout, run_isolated
from trifecta.specialists.base import (
    Candidate,
    CannotSolve,
    FunctionSolver,
    Job,
    ModelSolver,
    Solver,
    Specialist,
)
from trifecta.specialists.math._check import check_math, claim_line
from trifecta.specialists.math._engine import CLAIM_KINDS, check_claim, compute
from trifecta.specialists.math._requests import MATH_WORDS, to_claim
from trifecta.telemetry import tool_span
from trifecta.verdict import CheckError, CheckVerdict, Verdict, check_error

__all__ = [
    "CLAIMS_SCHEMA",
    "CLAIM_KINDS",
    "check_claim",
    "check_math",
    "claim_line",
    "math_specialist",
    "to_claim",
]

CLAIMS_SCHEMA = OutputSchema(
    "math_answer",
    {
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "claims": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["answer", "claims"],
    },
    "A final answer and the checkable claims behind it.",
)


def math_specialist(models: Sequence[ChatModel] = (), *, timeout: float = 2.0) -> Specialist:
    """The math specialist.

    Args:
        models: model tiers after SymPy, cheapest first.
        timeout: seconds per SymPy computation or check (the worker is killed after).
    """
    tiers: list[Solver] = [FunctionSolver(_tier0(timeout), name="sympy")]
    prompt = (resources.files(__name__) / "prompt.md").read_text("utf-8")
    tiers += [ModelSolver(m, prompt, CLAIMS_SCHEMA, _candidate) for m in models]

    async def verify(job: Job, candidate: Candidate) -> Verdict:
        with tool_span("sympy", job.subtask) as current:
            verdict = await _verify(candidate, timeout, formal=job.tier == 0)
            if current is not None:
                claims = len(candidate.payload.get("claims") or [])
                current.set_attributes(
                    {"trifecta.verdict": verdict.status, "trifecta.claims": claims}
                )
        return verdict

    return Specialist(
        name="math",
        description="Exact math: arithmetic, percentages, algebra, equations, derivatives, "
        "integrals, limits. Answers are checked with SymPy.",
        tiers=tiers,
        verify=verify,
        affinity=_affinity,
    )


def _affinity(clause: str) -> float:
    if to_claim(clause) is not None:
        return 1.0
    return 0.6 if MATH_WORDS.search(clause) else 0.0


def _tier0(timeout: float) -> Any:
    async def solve(job: Job) -> Candidate:
        text = job.instruction
        claim = (
            to_claim(text) if len(text) <= INLINE_CHARS else await asyncio.to_thread(to_claim, text)
        )
        if claim is None:
            raise CannotSolve("not a formal request SymPy can compute directly")
        claim = {**claim, "domain": "real"}  # no request the grammar reads names complex
        try:
            done = await asyncio.to_thread(run_isolated, compute, claim, timeout=timeout)
        except (IsolatedTimeout, IsolatedError) as exc:
            raise CannotSolve(f"SymPy could not compute it: {exc}") from exc
        return Candidate(answer=str(done["answer"]), payload={"claims": [{**done, "id": "c1"}]})

    return solve


def _candidate(data: Any) -> Candidate:
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ModelOutputError("expected an object with 'answer' and a list of 'claims'")
    claims = [c for c in data["claims"] if isinstance(c, dict)]
    return Candidate(answer=str(data.get("answer", "")), payload={"claims": claims})


async def _verify(candidate: Candidate, timeout: float, *, formal: bool) -> Verdict:
    claims = candidate.payload.get("claims") or []
    if not claims:
        return Verdict(
            "unverifiable", "no claims", errors=(check_error("claims", "no claims to check"),)
        )
    outcomes = await asyncio.to_thread(lambda: list(check_math(claims, timeout=timeout)))
    errors = _claim_errors(claims, outcomes)
    evidence = tuple(
        f"{c.get('id', i)}: {c.get('kind')} {c.get('expr')} = {c.get('answer')}: {o.status} ({o.method})"
        for i, (c, o) in enumerate(zip(claims, outcomes, strict=True))
    )
    data = {"claims": [_checked_claim(c, o) for c, o in zip(claims, outcomes, strict=True)]}
    statuses = {o.status for o in outcomes}
    if "rejected" in statuses:
        return Verdict("rejected", "sympy", evidence, errors, data=data)
    if "unverifiable" in statuses:
        return Verdict("unverifiable", "sympy", evidence, errors, data=data)
    if not formal and not await _final_answer_claimed(candidate, claims, timeout):
        missing = check_error("final", f"no claim has the final answer {candidate.answer!r}")
        return Verdict("unverifiable", "sympy", evidence, (missing,), data=data)
    method = outcomes[-1].method if formal else "every step checked by sympy"
    return Verdict("verified" if formal else "checked", method, evidence, data=data)


def _checked_claim(claim: dict[str, Any], outcome: CheckVerdict) -> dict[str, str]:
    """A claim as a result keeps it: its fields as text, and how SymPy checked it."""
    fields = {k: str(claim.get(k, "")) for k in ("id", "kind", "expr", "answer")}
    reasons = "; ".join(outcome.messages)
    return {**fields, "status": outcome.status, "method": outcome.method, "errors": reasons}


def _claim_errors(
    claims: list[dict[str, Any]], outcomes: list[CheckVerdict]
) -> tuple[CheckError, ...]:
    return tuple(
        check_error(str(c.get("id", i)), f"{c.get('expr')} = {c.get('answer')}: {message}")
        for i, (c, o) in enumerate(zip(claims, outcomes, strict=True))
        for message in o.messages
    )


async def _final_answer_claimed(
    candidate: Candidate, claims: list[dict[str, Any]], timeout: float
) -> bool:
    """Whether the final answer equals (as a value, not as text) some claim's answer."""
    finals = [
        {"kind": "equal", "expr": candidate.answer, "answer": c.get("answer", "")} for c in claims
    ]
    outcomes = await asyncio.to_thread(lambda: list(check_math(finals, timeout=timeout)))
    return any(o.status == "verified" for o in outcomes)
