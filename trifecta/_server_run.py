"""One request's run behind `trifecta serve`: replay, resume or start its thread under a
hard deadline, and stream it through an API's renderer (chat completions, responses)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from fastapi import Request

from trifecta._api_error import ApiError
from trifecta._chat_request import ChatTurn
from trifecta._server_checkpoint import is_outage
from trifecta._server_live import LiveRuns
from trifecta.approval import question_text
from trifecta.graphs.state import Event
from trifecta.ledger import Budget
from trifecta.result import RunResult
from trifecta.runner import RequestError, Trifecta

__all__ = [
    "RunStats",
    "ServerRun",
    "StreamRender",
    "extension",
    "pieces",
    "reply_text",
    "sse",
    "usage_of",
]

_log = logging.getLogger("trifecta.server")


class RunStats:
    """Counters shown by ``/healthz``."""

    def __init__(self) -> None:
        self.active = self.completed = self.cancelled = self.replayed = self.unavailable = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return {"active_runs": self.active, "completed_runs": self.completed,
                "cancelled_runs": self.cancelled, "replayed_runs": self.replayed,
                "checkpoint_unavailable": self.unavailable}  # fmt: skip


def _unavailable(stats: RunStats, exc: BaseException) -> ApiError:
    stats.unavailable += 1
    _log.warning("checkpointer unavailable: %s", exc)
    return ApiError(
        503,
        "The checkpoint store is unavailable; retry shortly.",
        "server_error",
        "checkpoint_unavailable",
    )


class ServerRun:
    """One request's run on its conversation's thread: replay a turn that finished
    (turn n of the conversation is the request's n-th user message), resume the turn
    that was interrupted, or start the next one."""

    def __init__(
        self,
        app: Trifecta,
        stats: RunStats,
        turn: ChatTurn,
        thread: str,
        budget: Budget,
        live: LiveRuns | None = None,
    ) -> None:
        self.app, self.stats, self.turn, self.thread, self.budget = app, stats, turn, thread, budget
        self.live = live or LiveRuns()
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.replayed = False
        self._pending = False
        self._answering = False
        self._known = False
        self._finished: RunResult | None = None

    async def prepare(self) -> None:
        """Look the thread up before answering, so an outage is a 503, not a broken stream.

        Raises:
            ApiError: 409 when the request's turn does not follow the thread's.
        """
        try:
            async with asyncio.timeout(self.budget.max_wall_s):
                latest = await self.app.state(self.thread)
                done = 0 if latest is None else latest.turn - latest.pending
                wanted = self.turn.turn
                if latest is not None and wanted <= done:
                    self._finished = (
                        latest if wanted == done else await self.app.state(self.thread, turn=wanted)
                    )
        except TimeoutError:
            raise _unavailable(self.stats, TimeoutError("thread lookup timed out")) from None
        except Exception as exc:
            if is_outage(exc):
                raise _unavailable(self.stats, exc) from None
            raise
        if self.turn.follows is not None and (latest is None or latest.turn < self.turn.follows):
            raise ApiError(
                404,
                "The previous response is not in this conversation's thread.",
                code="previous_response_not_found",
            )
        self._known = latest is not None
        self._pending = latest is not None and latest.pending and wanted == latest.turn
        # the user's next message answers what the paused run asked
        self._answering = (
            latest is not None and bool(latest.interrupts) and wanted == latest.turn + 1
        )
        if self._finished is not None:
            self._same_question(self._finished)
            self.replayed = True
            self.stats.replayed += 1
        elif (
            latest is not None and not self._pending and not self._answering and wanted != done + 1
        ):
            raise ApiError(
                409,
                f"This conversation's thread holds {done} finished turn(s)"
                f"{' and one paused' if latest.pending else ''}; this request is turn {wanted}.",
                code="turn_conflict",
            )

    def _same_question(self, stored: RunResult) -> None:
        """A finished turn replays only for the message that made it.

        Raises:
            ApiError: 409 when this request's turn said something else.
        """
        if " ".join(stored.said.split()) != " ".join(self.turn.text.split()):
            raise ApiError(
                409,
                f"Turn {stored.turn} of this conversation already answered another message; "
                "send the conversation as it was, or start a new one.",
                code="turn_conflict",
            )

    async def _execute(self) -> RunResult:
        if self._finished is not None:
            return self._finished

        def emit(event: Event) -> None:
            self.queue.put_nowait(event)
            self.live.touch(self.thread)  # inspector pages following the thread read it again

        if self._answering:
            return await self.app.aresume(
                self.thread,
                resume=self.turn.text,
                reply=self.turn.text,
                budget=self.budget,
                on_event=emit,
            )
        if self._pending:
            return await self.app.aresume(self.thread, budget=self.budget, on_event=emit)
        # a new thread hears the whole conversation; a known one holds its earlier turns
        request = self.turn.text if self._known else list(self.turn.messages)
        try:
            return await self.app.arun(
                request, thread_id=self.thread, budget=self.budget, on_event=emit
            )
        except RequestError as exc:
            raise ApiError(400, str(exc), code="invalid_request") from None

    async def _guarded(self) -> RunResult:
        self.stats.active += 1
        self.live.begin(self.thread)
        # the budget stops a run cleanly; this cuts one that cannot stop
        hard = (self.budget.max_wall_s or 0) + 1.0
        try:
            async with asyncio.timeout(hard if self.budget.max_wall_s else None):
                result = await self._execute()
            self.stats.completed += 1
            return result
        except TimeoutError:
            self.stats.cancelled += 1
            raise ApiError(
                504,
                f"The run passed its deadline of {self.budget.max_wall_s:g}s.",
                "timeout",
                "deadline_exceeded",
            ) from None
        except asyncio.CancelledError:
            self.stats.cancelled += 1
            raise
        except ApiError:
            raise
        except Exception as exc:
            if is_outage(exc):
                raise _unavailable(self.stats, exc) from None
            _log.exception("run %s failed", self.thread)
            raise ApiError(
                500, "The run failed on the server.", "server_error", "internal_error"
            ) from None
        finally:
            self.stats.active -= 1
            self.live.end(self.thread)
            self.queue.put_nowait(None)

    async def wait(self, request: Request) -> RunResult:
        """Run to the end, cancelling if the client goes away."""
        task = asyncio.ensure_future(self._guarded())
        while not task.done():
            done, _ = await asyncio.wait({task}, timeout=0.25)
            if not done and await request.is_disconnected():
                task.cancel()
        return task.result()

    async def stream(self, render: StreamRender) -> AsyncIterator[str]:
        """Server-sent events as `render` writes them: its opening, the run's progress,
        then the finished reply (or the error that ended the run)."""
        task = asyncio.ensure_future(self._guarded())
        try:
            for line in render.opening():
                yield line
            while (event := await self.queue.get()) is not None:
                for line in render.progress(event):
                    yield line
            try:
                lines = render.finished(task.result(), self.replayed)
            except ApiError as exc:
                lines = render.failed(exc)
            for line in lines:
                yield line
        finally:
            if not task.done():
                task.cancel()


class StreamRender(Protocol):
    """How one API writes a run as server-sent events."""

    def opening(self) -> list[str]:
        """What is sent before the run reports anything."""
        ...

    def progress(self, event: Event) -> list[str]:
        """What is sent for one progress event."""
        ...

    def finished(self, result: RunResult, replayed: bool) -> list[str]:
        """The reply (may raise `ApiError`, which `failed` then renders)."""
        ...

    def failed(self, error: ApiError) -> list[str]:
        """What is sent when the run ends with an error."""
        ...


def sse(payload: dict[str, Any], event: str | None = None) -> str:
    """One server-sent event carrying `payload` as JSON."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(payload, default=str)}\n\n"


def pieces(text: str) -> list[str]:
    """`text` in streamed pieces, one line each."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]] if text else []


def usage_of(result: RunResult) -> tuple[int, int]:
    """The run's input and output tokens."""
    return result.report["tokens_in"], result.report["tokens_out"]


def extension(result: RunResult, replayed: bool) -> dict[str, Any]:
    """The ``trifecta`` extension field: the result's JSON form, `ok`, and whether the
    turn was replayed from its checkpoint."""
    return {**result.to_dict(), "ok": result.ok, "replayed": replayed}


def reply_text(result: RunResult) -> str:
    """The assistant's message: the answer, or what a paused run asks (the next user
    message answers it)."""
    if not result.interrupts:
        return result.answer
    lines = [question_text(q) for q in result.interrupts]
    return "\n".join([*lines, "Reply yes to approve; anything else declines."])
