"""`check_math`: verify a stream of claims in parallel worker processes, in order."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from trifecta.sandbox import IsolatedError, IsolatedTimeout, WorkerPool, default_pool
from trifecta.specialists.math._engine import check_claim
from trifecta.specialists.math._equal import outcome
from trifecta.verdict import CheckVerdict, Verdict

__all__ = ["check_math", "claim_line"]


def _verdict(pool: WorkerPool, claim: Any, timeout: float) -> Verdict:
    if isinstance(claim, Exception):
        return outcome("rejected", "input", str(claim))
    if not isinstance(claim, dict):
        return outcome("rejected", "input", "a claim must be a JSON object")
    try:
        return pool.run(check_claim, claim, timeout=timeout)
    except IsolatedTimeout as exc:
        return outcome("unverifiable", "timeout", str(exc))
    except IsolatedError as exc:
        return outcome("unverifiable", "worker", str(exc))


def _one(pool: WorkerPool, claim: Any, timeout: float) -> CheckVerdict:
    started = time.perf_counter()
    verdict = _verdict(pool, claim, timeout)
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    return CheckVerdict.of(verdict, claim.get("id") if isinstance(claim, dict) else None, elapsed)


def claim_line(verdict: CheckVerdict) -> dict[str, Any]:
    """One claim's verdict as ``trifecta check math`` prints it and the MCP tool returns
    it: ``{"id", "status", "method", "errors", "elapsed_ms"}``, errors as messages."""
    return {
        "id": verdict.id,
        "status": verdict.status,
        "method": verdict.method,
        "errors": verdict.messages,
        "elapsed_ms": verdict.elapsed_ms,
    }


def check_math(
    claims: Iterable[Any],
    *,
    timeout: float = 2.0,
    workers: int | None = None,
    pool: WorkerPool | None = None,
) -> Iterator[CheckVerdict]:
    """Check claims, yielding one verdict per claim in input order.

    Each verdict carries the claim's ``id``, its status (``verified``, ``rejected`` or
    ``unverifiable``), method, errors and ``elapsed_ms`` (`claim_line` writes it as
    JSON). Every claim runs in a worker
    process under `timeout` seconds and the pool's memory cap; a non-object or an
    `Exception` in `claims` (e.g. a line that was not JSON) becomes a rejected verdict.

    Args:
        claims: claim dicts (see the math specialist's claim kinds).
        timeout: seconds per claim.
        workers: claims checked at once (default: the pool's size).
        pool: the worker pool (default: one worker per core).
    """
    pool = pool or default_pool()
    width = workers or pool.size
    pending: deque[Future[CheckVerdict]] = deque()
    with ThreadPoolExecutor(max_workers=width) as executor:
        for claim in claims:
            pending.append(executor.submit(_one, pool, claim, timeout))
            if len(pending) >= 4 * width:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
