"""The run inspector behind `trifecta serve`: ``GET /runs`` (recent runs),
``GET /runs/{conversation}`` (one run's page; with ``Accept: text/event-stream``, its
live updates) and ``GET /runs/{conversation}.json`` (the same data as JSON).

The routes take the API key the chat route takes (``Authorization: Bearer``, or the
password of HTTP Basic credentials, which a browser asks for): a key sees only the
conversations it started, named as it named them."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from langgraph.checkpoint.base import BaseCheckpointSaver

from trifecta._api_error import ApiError
from trifecta._chat_request import thread_for
from trifecta._http import authorize
from trifecta._inspect_page import RunSummary, csp, render_body, render_page, runs_page
from trifecta._inspect_view import AuditView, RunView, audit_view, snapshot_view
from trifecta._server_checkpoint import is_outage
from trifecta._server_live import LiveRuns
from trifecta.checkpoint import recent_threads
from trifecta.config import Config
from trifecta.ledger import Budget
from trifecta.runner import Trifecta

__all__ = ["RunPages", "runs_router"]

MAX_LISTED = 200


@dataclass
class _AuditCache:
    """The audit log's status, checked again only when the log or its head changed."""

    config: Config
    stamp: tuple[int, ...] | None = None
    view: AuditView | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _stamp(self) -> tuple[int, ...]:
        stamps: list[int] = []
        for path in (self.config.audit_log or "", f"{self.config.audit_log}.head"):
            try:
                info = os.stat(path)
                stamps += [info.st_size, info.st_mtime_ns]
            except OSError:
                stamps += [-1, -1]
        return tuple(stamps)

    async def get(self) -> AuditView | None:
        if not self.config.audit_log:
            return None
        async with self.lock:
            stamp = self._stamp()
            if stamp != self.stamp:
                self.view = await asyncio.to_thread(audit_view, self.config)
                self.stamp = stamp
            return self.view


@dataclass
class RunPages:
    """What the inspector routes read: the orchestrator and its checkpointer, the runs
    in progress here, the budget runs are given and the configuration."""

    app: Callable[[], Trifecta]
    saver: Callable[[], BaseCheckpointSaver[str]]
    live: LiveRuns
    config: Config
    budget: Budget
    audits: _AuditCache = field(init=False)

    def __post_init__(self) -> None:
        self.audits = _AuditCache(self.config)

    async def view(self, thread: str, shown: str) -> RunView | None:
        """The thread's current turn, or None when the thread does not exist."""
        async with _store():
            snapshot = await self.app().snapshot(thread)
        if snapshot is None:
            return None
        return snapshot_view(
            snapshot, shown, running=self.live.running(thread), budget=self.budget,
            thread_budget=self.config.thread_budget, audit=await self.audits.get(),
        )  # fmt: skip

    async def follow(self, thread: str, shown: str) -> AsyncIterator[str]:
        """Server-sent events: the page's content (``run``) whenever the run changed,
        then ``end`` once it finished or paused, past the server's deadline, or when the
        checkpoint store cannot be read (its data then says why)."""
        last = ""
        deadline = asyncio.get_running_loop().time() + self.config.server.deadline_s + 5
        while True:
            try:
                view = await self.view(thread, shown)
            except ApiError as exc:
                yield f"event: end\ndata: {json.dumps(exc.body())}\n\n"
                return
            if view is not None:
                payload = json.dumps({"phase": view["phase"], "html": render_body(view)})
                if payload != last:
                    yield f"event: run\ndata: {payload}\n\n"
                    last = payload
            over = asyncio.get_running_loop().time() > deadline
            if view is None or view["phase"] in ("finished", "paused") or over:
                yield "event: end\ndata: {}\n\n"
                return
            await self.live.changed(thread, 0.5 if view["phase"] == "running" else 2.0)


@asynccontextmanager
async def _store() -> AsyncIterator[None]:
    """A checkpoint store outage is a 503, as on the chat route."""
    try:
        yield
    except Exception as exc:
        if is_outage(exc):
            raise ApiError(
                503, "The checkpoint store is unavailable; retry shortly.", "server_error",
                "checkpoint_unavailable",
            ) from None  # fmt: skip
        raise


def _headers(*, live: bool) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp(live=live),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _summary(view: RunView, conversation: str) -> RunSummary:
    return RunSummary(
        conversation=conversation, href=f"/runs/{quote(conversation, safe='')}",
        started_at=view["started_at"], request=view["request"], counts=view["counts"],
        cost_usd=view["report"]["cost_usd"], wall_s=view["elapsed_s"], phase=view["phase"],
    )  # fmt: skip


def runs_router(pages: RunPages) -> APIRouter:
    """The inspector's routes."""
    router = APIRouter()
    settings = pages.config.server

    def thread_of(request: Request, conversation: str) -> str:
        key = authorize(request, settings.api_keys)
        return thread_for(conversation, key, settings.max_conversation_chars)

    @router.get("/runs", response_class=HTMLResponse)
    async def runs(request: Request, limit: int = 50) -> Response:
        key = authorize(request, settings.api_keys)
        prefix = thread_for("", key, settings.max_conversation_chars)
        async with _store():
            threads = await recent_threads(pages.saver(), prefix, max(1, min(limit, MAX_LISTED)))
        rows = []
        for thread in threads:
            conversation = thread.removeprefix(prefix)
            view = await pages.view(thread, conversation)
            if view is not None:
                rows.append(_summary(view, conversation))
        return HTMLResponse(runs_page(rows), headers=_headers(live=False))

    @router.get("/runs/{name:path}", response_model=None)
    async def run(request: Request, name: str) -> Response:
        as_json = name.endswith(".json")
        conversation = name.removesuffix(".json") if as_json else name
        thread = thread_of(request, conversation)
        request.state.thread_id = thread  # for the access log
        if "text/event-stream" in request.headers.get("accept", "") and not as_json:
            return StreamingResponse(
                pages.follow(thread, conversation), media_type="text/event-stream",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )  # fmt: skip
        view = await pages.view(thread, conversation)
        if view is None:
            raise ApiError(404, f"No run named {conversation!r}.", code="run_not_found")
        if as_json:
            return JSONResponse(view, headers={"Cache-Control": "no-store"})
        live = view["phase"] in ("running", "pending")
        return HTMLResponse(render_page(view, live=live), headers=_headers(live=live))

    return router
