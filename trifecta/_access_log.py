"""`trifecta serve`'s log lines: one at startup, one per request (``trifecta.server``)."""

from __future__ import annotations

import logging
import time
from typing import Any

from trifecta.checkpoint import redact_url
from trifecta.config import Config
from trifecta.telemetry import log_extra

__all__ = ["AccessLog", "log_startup"]

_log = logging.getLogger("trifecta.server")


def log_startup(config: Config, address: str | None) -> None:
    """The startup line: address, models, checkpointer, whether API keys are required."""
    models = sorted(config.models) or ([config.model] if config.model else [])
    checkpointer = redact_url(config.checkpoint_url)
    auth = bool(config.server.api_keys)
    _log.info(
        "serving %s at %s; models: %s; checkpointer: %s; auth: %s",
        config.server.model_name, address or "(address not given)",
        ", ".join(models) or "none (tier 0 offline)", checkpointer, "on" if auth else "off",
        extra=log_extra(
            "startup", address=address, model_name=config.server.model_name, models=models,
            checkpointer=checkpointer, auth=auth, deadline_s=config.server.deadline_s,
        ),
    )  # fmt: skip


class AccessLog:
    """ASGI middleware: one record per request once its response is sent (a stream
    included): method, path, status, latency and the conversation's thread id (which
    the chat route leaves in ``request.state.thread_id``)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Pass the request on, timing it and noting the status sent."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def noting(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            _access(scope, status, time.perf_counter() - started)


def _access(scope: Any, status: int | None, seconds: float) -> None:
    level = logging.WARNING if status is None or status >= 500 else logging.INFO
    if not _log.isEnabledFor(level):
        return
    thread = (scope.get("state") or {}).get("thread_id")
    client = scope.get("client")
    _log.log(
        level,
        '%s "%s %s" %s %.1f ms%s',
        client[0] if client else "-", scope["method"], scope["path"],
        "-" if status is None else status, seconds * 1000, f" thread {thread}" if thread else "",
        extra=log_extra(
            "access", method=scope["method"], path=scope["path"], status=status,
            latency_ms=round(seconds * 1000, 3), thread_id=thread,
            client=client[0] if client else None,
        ),
    )  # fmt: skip
