"""`trifecta serve`: an OpenAI-compatible chat endpoint in front of the orchestrator.

`POST /v1/chat/completions` answers the last user message (plain or ``stream: true`` as
server-sent events ending with ``data: [DONE]``); the verification report travels in an
extra ``trifecta`` field, and while streaming as progress chunks with an empty delta that
standard clients ignore. A conversation (header ``X-Conversation-Id`` or the ``user``
field) maps turn n to LangGraph thread ``<conversation>:<n>``: a repeated turn, on any
replica sharing the checkpointer, replays the stored answer; an interrupted one resumes.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from trifecta.checkpoint import open_checkpointer
from trifecta.config import Config
from trifecta.ledger import Budget
from trifecta.runner import RequestError, RunResult, Trifecta
from trifecta.state import Event

__all__ = ["create_app"]


class ApiError(Exception):
    """An error answered with an OpenAI-style body."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        code: str | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code

    def response(self) -> JSONResponse:
        body = {
            "error": {"message": self.message, "type": self.kind, "param": None, "code": self.code}
        }
        return JSONResponse(body, status_code=self.status)


class _Stats:
    def __init__(self) -> None:
        self.active = self.completed = self.cancelled = self.replayed = 0


def create_app(
    config: Config, *, build: Callable[[Config, Any], Trifecta] | None = None
) -> FastAPI:
    """The ASGI app. `build(config, checkpointer)` makes the orchestrator (default:
    `Trifecta.from_config`); the checkpointer is opened once for the app's lifetime."""
    stats = _Stats()
    holder: dict[str, Trifecta] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            saver = await stack.enter_async_context(open_checkpointer(config.checkpoint_url))
            holder["app"] = (build or (lambda c, s: Trifecta.from_config(c, checkpoint=s)))(
                config, saver
            )
            yield

    app = FastAPI(title="trifecta", lifespan=lifespan)
    settings = config.server

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "active_runs": stats.active, "completed_runs": stats.completed,
                "cancelled_runs": stats.cancelled, "replayed_runs": stats.replayed}  # fmt: skip

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        _authorize(request, settings.api_keys)
        return {
            "object": "list",
            "data": [
                {"id": settings.model_name, "object": "model", "created": 0, "owned_by": "trifecta"}
            ],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> Response:
        _authorize(request, settings.api_keys)
        body = await _body(request, settings.max_body_bytes)
        text, turn = _request_text(body, settings.max_messages, settings.model_name)
        conversation = (
            request.headers.get("x-conversation-id") or body.get("user") or uuid.uuid4().hex
        )
        thread = f"{conversation}:{turn}"
        budget = replace(
            config.budget,
            max_wall_s=min(config.budget.max_wall_s or settings.deadline_s, settings.deadline_s),
        )
        run = _Run(holder["app"], stats, text, thread, budget)
        if body.get("stream"):
            return StreamingResponse(
                run.events(request, settings.model_name), media_type="text/event-stream"
            )
        result = await run.wait(request)
        return JSONResponse(_completion(result, settings.model_name, run.replayed))

    return app


def _authorize(request: Request, keys: tuple[str, ...]) -> None:
    if not keys:
        return
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer ") or header.removeprefix("Bearer ").strip() not in keys:
        raise ApiError(
            401,
            "Incorrect or missing API key (send Authorization: Bearer <key>).",
            "invalid_request_error",
            "invalid_api_key",
        )


async def _body(request: Request, limit: int) -> dict[str, Any]:
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit:
        raise ApiError(
            413,
            f"Request body is {declared:,} bytes; the limit is {limit:,}.",
            code="request_too_large",
        )
    raw = await request.body()
    if len(raw) > limit:
        raise ApiError(
            413,
            f"Request body is {len(raw):,} bytes; the limit is {limit:,}.",
            code="request_too_large",
        )
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"The body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object.", code="invalid_json")
    return body


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return content if isinstance(content, str) else ""


def _request_text(body: dict[str, Any], max_messages: int, model_name: str) -> tuple[str, int]:
    if body.get("model") not in (model_name, None):
        raise ApiError(
            404,
            f"The model '{body.get('model')}' does not exist; this server serves '{model_name}'.",
            code="model_not_found",
        )
    messages = body.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) for m in messages)
    ):
        raise ApiError(
            400, "'messages' must be a non-empty list of message objects.", code="invalid_messages"
        )
    if len(messages) > max_messages:
        raise ApiError(
            400, f"{len(messages)} messages; the limit is {max_messages}.", code="too_many_messages"
        )
    users = [m for m in messages if m.get("role") == "user"]
    if not users or messages[-1].get("role") != "user":
        raise ApiError(400, "The last message must come from the user.", code="invalid_messages")
    return _content(users[-1]), len(users)


class _Run:
    """One request's run: replay a finished thread, resume a pending one, or start it."""

    def __init__(
        self, app: Trifecta, stats: _Stats, text: str, thread: str, budget: Budget
    ) -> None:
        self.app, self.stats, self.text, self.thread, self.budget = app, stats, text, thread, budget
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.replayed = False

    async def _execute(self) -> RunResult:
        pending, finished = await self.app.state(self.thread)
        if finished is not None:
            self.replayed = True
            self.stats.replayed += 1
            return finished
        emit = self.queue.put_nowait
        if pending:
            return await self.app.aresume(self.thread, budget=self.budget, on_event=emit)
        try:
            return await self.app.arun(
                self.text, thread_id=self.thread, budget=self.budget, on_event=emit
            )
        except RequestError as exc:
            raise ApiError(400, str(exc), code="invalid_request") from None

    async def _guarded(self) -> RunResult:
        self.stats.active += 1
        hard = (
            self.budget.max_wall_s or 0
        ) + 1.0  # the budget stops a run cleanly; this cuts one that cannot stop
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

    async def events(self, request: Request, model: str) -> AsyncIterator[str]:
        """Server-sent events: role, progress, the answer, the report, [DONE]."""
        created, chunk_id = int(time.time()), f"chatcmpl-{uuid.uuid4().hex}"
        task = asyncio.ensure_future(self._guarded())
        try:
            yield _sse(_chunk(chunk_id, created, model, {"role": "assistant", "content": ""}))
            while (event := await self.queue.get()) is not None:
                data = (
                    None if event.kind == "merged" else event.data
                )  # the answer follows as content
                progress = {"event": event.kind, "data": data}
                yield _sse({**_chunk(chunk_id, created, model, {}), "trifecta": progress})
            try:
                result = task.result()
            except ApiError as exc:
                yield _sse({"error": {"message": exc.message, "type": exc.kind, "code": exc.code}})
                yield "data: [DONE]\n\n"
                return
            for piece in _pieces(result.answer):
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


def _completion(result: RunResult, model: str, replayed: bool) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.answer},
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(result),
        "trifecta": _report(result, replayed),
    }
