"""Run CPU-bound checks in a worker process that is killed on overrun.

Each call forks the current process (SymPy is already imported, so a call costs a
fork, not an interpreter start) and never re-imports the caller's `__main__`, so it
is safe from scripts, notebooks and servers. A worker that hangs for any reason,
including a lock held by another thread at fork time, is killed at its deadline.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

__all__ = ["IsolatedError", "IsolatedTimeout", "run_isolated"]

T = TypeVar("T")
_CTX = multiprocessing.get_context("fork")


class IsolatedTimeout(TimeoutError):
    """The worker ran past its time limit and was killed."""


class IsolatedError(RuntimeError):
    """The worker raised, ran out of memory or died."""


def _child(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...], memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        conn.send((True, fn(*args)))
    except MemoryError:
        conn.send((False, f"out of memory (limit {memory_mb} MiB)"))
    except BaseException as exc:
        conn.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def run_isolated(
    fn: Callable[..., T], *args: Any, timeout: float = 2.0, memory_mb: int = 1024
) -> T:
    """Call ``fn(*args)`` in a forked worker process with a memory cap.

    Raises:
        IsolatedTimeout: past `timeout` seconds (the worker is killed).
        IsolatedError: the call raised or the worker died.
    """
    receiver, sender = _CTX.Pipe(duplex=False)
    worker = _CTX.Process(target=_child, args=(sender, fn, args, memory_mb), daemon=True)
    worker.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise IsolatedTimeout(f"gave up after {timeout:g}s")
        ok, value = receiver.recv()
    except EOFError as exc:
        raise IsolatedError("the worker died without answering") from exc
    finally:
        receiver.close()
        if worker.is_alive():
            worker.kill()
        worker.join()
    if not ok:
        raise IsolatedError(value)
    return value  # type: ignore[no-any-return]
