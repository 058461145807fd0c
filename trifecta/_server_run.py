"""One chat request's run behind `trifecta serve`: replay, resume or start its thread
under a hard deadline, and render the result as an OpenAI completion or SSE chunks."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from trifecta._chat_request import ApiError, ChatTurn
from trifecta._server_checkpoint import is_outage
from trifecta.graphs.state import Event
from trifecta.ledger import Budget
from trifecta.result import RunResult
from trifecta.runner import RequestError, Trifecta

__all__ = ["RunStats", "ServerRun", "completion", "reply_text"]

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
        self, app: Trifecta, stats: RunStats, turn: ChatTurn, thread: str, budget: Budget
    ) -> None:
        self.app, self.stats, self.turn, self.thread, self.budget = app, stats, turn, thread, budget
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
        self._known = latest is not None
        self._pending = latest is not None and latest.pending and wanted == latest.turn
        # the user's next message answers what the paused run asked
        self._answering = (
            latest is not None and bool(latest.interrupts) and wanted == latest.turn + 1
        )
        if self._finished is not None:
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

    async def _execute(self) -> RunResult:
        if self._finished is not None:
            return self._finished
        emit = self.queue.put_nowait
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
            self.queue.put_nowait(None)

    async def wait(self, request: Request) -> RunResult:
        """Run to the end, cancelling if the client goes away."""
        task = asyncio.ensure_future(self._guarded())
        while not task.done():
            done, _ = await asyncio.wait({task}, timeout=0.25)
            if not done and await request.is_disconnected():
                task.cancel()
        return task.result()

    async def events(self, model: str) -> AsyncIterator[str]:
        """Server-sent events: role, progress, the answer, the report, [DONE]."""
        created, chunk_id = int(time.time()), f"chatcmpl-{uuid.uuid4().hex}"
        task = asyncio.ensure_future(self._guarded())
        try:
            yield _sse(_chunk(chunk_id, created, model, {"role": "assistant", "content": ""}))
            while (event := await self.queue.get()) is not None:
                # the answer follows as content
                data = None if event.kind == "merged" else event.data
                progress = {"event": event.kind, "data": data}
                yield _sse({**_chunk(chunk_id, created, model, {}), "trifecta": progress})
            try:
                result = task.result()
            except ApiError as exc:
                yield _sse(exc.body())
                yield "data: [DONE]\n\n"
                return
            for piece in _pieces(reply_text(result)):
                yield _sse(_chunk(chunk_id, created, model, {"content": piece}))
            final = _chunk(chunk_id, created, model, {}, "stop")
            yield _sse(
                {**final, "usage": _usage(result), "trifecta": _report(result, self.replayed)}
            )
            yield "data: [DONE]\n\n"
        finally:
            if not task.done():
                task.cancel()


def _pieces(answer: str) -> list[str]:
    lines = answer.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]] if answer else []


def _chunk(
    chunk_id: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    return {"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, default=str)}\n\n"


def _usage(result: RunResult) -> dict[str, int]:
    tokens_in, tokens_out = result.report["tokens_in"], result.report["tokens_out"]
    return {
        "prompt_tokens": tokens_in,
        "completion_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
    }


def _report(result: RunResult, replayed: bool) -> dict[str, Any]:
    return {**result.to_dict(), "replayed": replayed}


def reply_text(result: RunResult) -> str:
    """The assistant's message: the answer, or what a paused run asks (the next user
    message answers it)."""
    if not result.interrupts:
        return result.answer
    lines = []
    for question in result.interrupts:
        if isinstance(question, dict):
            why = f" ({question['why']})" if question.get("why") else ""
            lines.append(f"{question.get('question', question)}{why}")
        else:
            lines.append(str(question))
    return "\n".join([*lines, "Reply yes to approve; anything else declines."])


def completion(result: RunResult, model: str, replayed: bool) -> dict[str, Any]:
    """The OpenAI ``chat.completion`` object, with the report in ``trifecta``."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply_text(result)},
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(result),
        "trifecta": _report(result, replayed),
    }
