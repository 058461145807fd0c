"""Run a coroutine from synchronous code, also where an event loop already runs."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["run_sync"]

_T = TypeVar("_T")


def run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run `coro` to completion: on this thread when no event loop runs on it, else on
    a helper thread with its own loop (a notebook cell, a sync call inside async code).
    Context variables (LangGraph's config, for one) carry over either way."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    context = contextvars.copy_context()
    with ThreadPoolExecutor(1, thread_name_prefix="trifecta-sync") as pool:
        return pool.submit(context.run, asyncio.run, coro).result()
