"""HTTP-level limits for `trifecta serve`, set through uvicorn's own options.

uvicorn's h11 protocol caps the request head (`h11_max_incomplete_event_size`: a
larger head is refused before the app runs) and closes idle keep-alive connections
(`timeout_keep_alive`). Two gaps remain and are closed here: a connection must
deliver a complete request head within `head_timeout_s` of opening (or of its
previous response), however it trickles bytes, and a request with more than
`max_headers` headers is answered 431 before the app sees it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from trifecta.config import ServerSettings

__all__ = ["HeaderLimit", "uvicorn_options"]


class _HeadDeadline(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head."""

    head_timeout_s: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the head has arrived
            self._disarm()

    def on_response_complete(self) -> None:
        self._arm()  # the next head on this connection gets the same deadline
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


class HeaderLimit:
    """ASGI middleware: more than `max_headers` headers, or more than `max_bytes` of them,
    is a 431 before the app runs. (h11 refuses a head that grows past its limit while
    it arrives; one that lands in a single read is parsed whole, so it is measured here.)
    """

    def __init__(self, app: Any, max_headers: int, max_bytes: int) -> None:
        self.app, self.max_headers, self.max_bytes = app, max_headers, max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Refuse, or pass the request on."""
        if scope["type"] != "http" or self._fits(scope["headers"]):
            await self.app(scope, receive, send)
            return
        message = f"The request has more than {self.max_headers} headers or {self.max_bytes:,} bytes of them."
        body = json.dumps(
            {"error": {"message": message, "type": "invalid_request_error", "param": None,
                       "code": "headers_too_large"}}
        ).encode()  # fmt: skip
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 431, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _fits(self, headers: list[tuple[bytes, bytes]]) -> bool:
        size = sum(len(name) + len(value) + 4 for name, value in headers)
        return len(headers) <= self.max_headers and size <= self.max_bytes


def uvicorn_options(settings: ServerSettings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` enforcing `settings`:
    head size, head deadline, idle keep-alive and the connection cap."""
    protocol = type(
        "TrifectaH11Protocol", (_HeadDeadline,), {"head_timeout_s": settings.head_timeout_s}
    )
    return {
        "http": protocol,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": settings.keep_alive_s,
        "limit_concurrency": settings.max_connections,
    }
