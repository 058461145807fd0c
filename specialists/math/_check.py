"""`check_math`: verify a stream of claims in parallel worker processes, in order."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from trifecta.sandbox import IsolatedError, IsolatedTimeout, WorkerPool, default_pool
from trifecta.specialists.math._engine import check_claim

__all__ = ["check_math"]


def _one(pool: WorkerPool, claim: Any, timeout: float) -> dict[str, Any]:
    started = time.perf_counter()
    claim_id = claim.get("id") if isinstance(claim, dict) else None
    if isinstance(claim, Exception):
        outcome = {"status": "rejected", "method": "input", "errors": [str(claim)]}
    elif not isinstance(claim, dict):
        outcome = {
            "status": "rejected",
            "method": "input",
            "errors": ["a claim must be a JSON object"],
        }
    else:
        try:
            outcome = pool.run(check_claim, claim, timeout=timeout)
        except IsolatedTimeout as exc:
            outcome = {"status": "unverifiable", "method": "timeout", "errors": [str(exc)]}
        except IsolatedError as exc:
            outcome = {"status": "unverifiable", "method": "worker", "errors": [str(exc)]}
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    return {"id": claim_id, **outcome, "elapsed_ms": elapsed}


def check_math(
    claims: Iterable[Any],
    *,
    timeout: float = 2.0,
    workers: int | None = None,
    pool: WorkerPool | None = None,
) -> Iterator[dict[str, Any]]:
    """Check claims, yielding one verdict per claim in input order.

    Each verdict is ``{"id", "status", "method", "errors", "elapsed_ms"}`` with status
    ``verified``, ``rejected`` or ``unverifiable``. Every claim runs in a worker
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
    pending: deque[Future[dict[str, Any]]] = deque()
    with ThreadPoolExecutor(max_workers=width) as executor:
        for claim in claims:
            pending.append(executor.submit(_one, pool, claim, timeout))
            if len(pending) >= 4 * width:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
