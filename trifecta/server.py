"""`trifecta serve`: an OpenAI-compatible chat endpoint in front of the orchestrator.

`POST /v1/chat/completions` answers the last user message (plain or ``stream: true`` as
server-sent events ending with ``data: [DONE]``); the verification report travels in an
extra ``trifecta`` field, and while streaming as progress chunks with an empty delta that
standard clients ignore. A conversation (header ``X-Conversation-Id`` or the ``user``
field) is one LangGraph thread ``<conversation>`` (prefixed by a digest of the API key
when keys are configured, so a conversation belongs to the key that started it), and
its n-th user message is turn n, a checkpoint of that thread: the planner sees the
earlier turns and their verified results; a repeated turn, on any replica sharing the
checkpointer, replays the stored answer; an interrupted one resumes; a turn that does
not follow the thread's is a 409. `POST /v1/responses` is the Responses API over the
same runs: a response's id names its conversation and turn, so ``previous_response_id``
continues the thread. Both take ``response_format`` / ``text.format`` (JSON built from
the run's fields and validated against the caller's schema) and refuse tools.

Hostile input is contained at the boundary: the head's size, header count and arrival
time are capped by the HTTP layer (`uvicorn_options`); the body's size while it is
read; malformed JSON, invalid Unicode, over-deep nesting and fields of the wrong type
are 400s; control characters are replaced before routing. A checkpoint store outage is
a 503 and ``/healthz`` says so; the server recovers when the store returns.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from trifecta._access_log import AccessLog, log_startup
from trifecta._api_error import ApiError
from trifecta._chat_reply import ChatStream, completion
from trifecta._chat_request import ChatTurn, parse_chat, read_body, thread_for
from trifecta._http import HeaderLimit, authorize, uvicorn_options
from trifecta._responses import ResponsesStream, parse_responses, response_object
from trifecta._server_checkpoint import ServerCheckpointer, open_server_checkpointer
from trifecta._server_live import LiveRuns
from trifecta._server_run import RunStats, ServerRun
from trifecta._server_runs import RunPages, runs_router
from trifecta.config import Config, ServerSettings
from trifecta.ledger import Budget
from trifecta.runner import Trifecta

__all__ = ["create_app", "uvicorn_options"]


def create_app(
    config: Config,
    *,
    build: Callable[[Config, Any], Trifecta] | None = None,
    address: str | None = None,
) -> FastAPI:
    """The ASGI app. `build(config, checkpointer)` makes the orchestrator (default:
    `Trifecta.from_config`); the checkpointer is opened once for the app's lifetime.
    Serve it with ``uvicorn.run(app, **uvicorn_options(config.server))``. It logs a
    startup line (naming `address`) and one line per request on ``trifecta.server``."""
    stats, live = RunStats(), LiveRuns()
    holder: dict[str, Any] = {}
    settings = config.server

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Off-loop work (rule planning, sync solvers, waits for SymPy workers) shares the
        # loop's default executor: size it so short tasks never queue behind blocked waits.
        workers = ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="trifecta")
        asyncio.get_running_loop().set_default_executor(workers)
        async with AsyncExitStack() as stack:
            store = await stack.enter_async_context(
                open_server_checkpointer(
                    config.checkpoint_url, timeout_s=settings.checkpoint_timeout_s
                )
            )
            holder["store"] = store
            holder["app"] = (build or (lambda c, s: Trifecta.from_config(c, checkpoint=s)))(
                config, store.saver
            )
            log_startup(config, address)
            yield

    app = FastAPI(title="trifecta", lifespan=lifespan)
    app.add_middleware(
        HeaderLimit, max_headers=settings.max_headers, max_bytes=settings.max_header_bytes
    )
    app.add_middleware(AccessLog)

    pages = RunPages(
        lambda: holder["app"],
        lambda: holder["store"].saver,
        live,
        config,
        _budget(config, settings),
    )
    app.include_router(runs_router(pages))

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        store: ServerCheckpointer = holder["store"]
        problem = await store.problem(settings.checkpoint_timeout_s)
        body = {
            "status": "ok" if problem is None else "unavailable",
            "checkpointer": "ok" if problem is None else f"unavailable: {problem}",
            **stats.as_dict(),
        }
        return JSONResponse(body, status_code=200 if problem is None else 503)

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        authorize(request, settings.api_keys)
        return {
            "object": "list",
            "data": [
                {"id": settings.model_name, "object": "model", "created": 0, "owned_by": "trifecta"}
            ],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> Response:
        key = authorize(request, settings.api_keys)
        raw = await read_body(request, settings.max_body_bytes, settings.body_timeout_s)
        turn = parse_chat(raw, settings)
        run = await _prepared(request, turn, key, _conversation(request, turn))
        if turn.stream:
            render = ChatStream(settings.model_name, turn.output)
            return StreamingResponse(run.stream(render), media_type="text/event-stream")
        result = await run.wait(request)
        return JSONResponse(completion(result, settings.model_name, run.replayed, turn.output))

    @app.post("/v1/responses", response_model=None)
    async def responses(request: Request) -> Response:
        key = authorize(request, settings.api_keys)
        raw = await read_body(request, settings.max_body_bytes, settings.body_timeout_s)
        asked = parse_responses(raw, settings)
        conversation = asked.previous[0] if asked.previous else _conversation(request, asked.turn)
        run = await _prepared(request, asked.turn, key, conversation)
        if asked.turn.stream:
            render = ResponsesStream(asked, settings.model_name, conversation)
            return StreamingResponse(run.stream(render), media_type="text/event-stream")
        result = await run.wait(request)
        return JSONResponse(
            response_object(result, asked, settings.model_name, conversation, run.replayed)
        )

    async def _prepared(
        request: Request, turn: ChatTurn, key: str | None, conversation: str
    ) -> ServerRun:
        thread = thread_for(conversation, key, settings.max_conversation_chars)
        request.state.thread_id = thread  # for the access log
        run = ServerRun(holder["app"], stats, turn, thread, _budget(config, settings), live)
        await run.prepare()
        return run

    return app


def _conversation(request: Request, turn: ChatTurn) -> str:
    """The conversation a request names (header, then ``user``), or a new one."""
    return request.headers.get("x-conversation-id") or turn.user or uuid.uuid4().hex


def _budget(config: Config, settings: ServerSettings) -> Budget:
    wall = min(config.budget.max_wall_s or settings.deadline_s, settings.deadline_s)
    return replace(config.budget, max_wall_s=wall)
