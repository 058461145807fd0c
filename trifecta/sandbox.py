"""Run CPU-bound checks in worker processes that are killed on overrun.

Workers are forked from the current process (SymPy is already imported), live for
many calls, and never re-import the caller's `__main__`, so this is safe from
scripts, notebooks and servers. A call that overruns its deadline, or a worker
that dies or hangs for any reason (including a lock held by another thread at fork
time), costs that worker: it is killed and a fresh one is forked on demand.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import resource
import threading
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from trifecta.errors import RunError

__all__ = [
    "FORK_LOCK",
    "IsolatedError",
    "IsolatedTimeout",
    "WorkerPool",
    "default_pool",
    "run_isolated",
]

T = TypeVar("T")
_CTX = multiprocessing.get_context("fork")
FORK_LOCK = threading.Lock()
"""Held while a worker is forked. Hold it while starting a subprocess on another thread
(an MCP server, say): a worker forked during `subprocess.Popen` inherits the new
process's exec-status pipe, and `Popen` then blocks until that worker exits."""


class IsolatedTimeout(RunError, TimeoutError):
    """The call ran past its time limit; its worker was killed."""


class IsolatedError(RunError):
    """The call raised, ran out of memory, or its worker died."""


def _address_space() -> int:
    """This process's current virtual size in bytes (Linux), 0 where unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


_parent_ends: weakref.WeakSet[Connection] = weakref.WeakSet()


def _serve(conn: Connection, memory_mb: int, parent: int) -> None:
    # A fork inherits the parent's pipe ends to the other workers; close them so each
    # worker sees EOF when the parent goes away.
    for end in list(_parent_ends):
        end.close()
    # A forked worker inherits the parent's address space (large once chromadb or
    # onnxruntime are loaded), so the cap is what it has now plus the allowance.
    limit = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            while not conn.poll(5):
                if os.getppid() != parent:  # orphaned: the parent died without closing
                    return
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = (True, fn(*args))
        except MemoryError:
            reply = (False, f"out of memory (limit {memory_mb} MiB)")
        except BaseException as exc:
            reply = (False, f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except MemoryError:
            conn.send((False, f"out of memory (limit {memory_mb} MiB)"))


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        self.conn, child = _CTX.Pipe()
        self.process = _CTX.Process(
            target=_serve, args=(child, memory_mb, os.getpid()), daemon=True
        )
        with FORK_LOCK:
            self.process.start()
        child.close()
        _parent_ends.add(self.conn)

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Any:
        self.conn.send((fn, args))
        if not self.conn.poll(timeout):
            raise IsolatedTimeout(f"gave up after {timeout:g}s")
        ok, value = self.conn.recv()
        if not ok:
            raise IsolatedError(value)
        return value

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


class WorkerPool:
    """Up to `size` worker processes, each allowed `memory_mb` beyond what it inherits.

    `run` is blocking and thread-safe; call it from threads (or `asyncio.to_thread`)
    to use several workers at once.
    """

    def __init__(self, size: int | None = None, *, memory_mb: int = 1024) -> None:
        self.size = size or os.cpu_count() or 1
        self.memory_mb = memory_mb
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._slots = threading.Semaphore(self.size)

    def run(self, fn: Callable[..., T], *args: Any, timeout: float = 2.0) -> T:
        """Call ``fn(*args)`` (an importable function) in a worker.

        Raises:
            IsolatedTimeout: past `timeout` seconds (the worker is replaced).
            IsolatedError: the call raised, or the worker died (then it is replaced).
        """
        with self._slots:
            worker = self._take()
            try:
                result: T = worker.call(fn, args, timeout)
            except IsolatedTimeout:
                worker.kill()
                raise
            except (EOFError, OSError) as exc:
                worker.kill()
                raise IsolatedError("the worker died without answering") from exc
            except IsolatedError:
                self._idle.put(worker)
                raise
            self._idle.put(worker)
            return result

    def _take(self) -> _Worker:
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:
            return _Worker(self.memory_mb)
        if worker.process.is_alive():
            return worker
        worker.kill()
        return _Worker(self.memory_mb)

    def close(self) -> None:
        """Stop every idle worker."""
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return


_default: WorkerPool | None = None
_default_lock = threading.Lock()


def default_pool() -> WorkerPool:
    """The process-wide pool (one worker per core, 1 GiB each)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = WorkerPool()
        return _default


def run_isolated(fn: Callable[..., T], *args: Any, timeout: float = 2.0) -> T:
    """Call ``fn(*args)`` in a worker of the default pool; see `WorkerPool.run`."""
    return default_pool().run(fn, *args, timeout=timeout)
