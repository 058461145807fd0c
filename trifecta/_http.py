"""HTTP-level limits for `trifecta serve`, set through uvicorn's options and protocols.

uvicorn parses requests with httptools when it is installed (the fast parser, and what
it picks by default), else with h11. h11 caps the request head itself
(`h11_max_incomplete_event_size`); httptools has no such limit, so its protocol here
counts the bytes that arrive before the head is complete and answers 431 past
`max_header_bytes`. Both close a connection that has not delivered a complete request
head within `head_timeout_s` of opening (or of its previous response), however it
trickles bytes; uvicorn closes idle keep-alive connections (`timeout_keep_alive`).
`HeaderLimit` answers 431 for too many headers, or a head that landed in one read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
from typing import Any

import h11
from fastapi import Request
from uvicorn.protocols.http.h11_impl import H11Protocol

from trifecta._api_error import ApiError
from trifecta.config import ServerSettings

__all__ = ["ApiKeyGate", "HeaderLimit", "authorize", "matching_key", "uvicorn_options"]


def _error_body(message: str, code: str) -> bytes:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    return json.dumps({"error": error}).encode()


class _HeadTimer:
    """A deadline for the request head of a connection (mixed into a uvicorn protocol)."""

    head_timeout_s: float = 10.0
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _head_timer: asyncio.TimerHandle | None = None

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


class _GuardedH11(_HeadTimer, H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head."""

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


def _httptools_protocol() -> type[asyncio.Protocol] | None:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools is optional for uvicorn
        return None

    class _GuardedHttpTools(_HeadTimer, HttpToolsProtocol):
        """uvicorn's httptools protocol with a head deadline and a head size cap."""

        max_head_bytes: int = 16_384
        _head_bytes = 0
        _in_head = True

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_head()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._in_head and not self.transport.is_closing():  # all of it was head
                self._head_bytes += len(data)
                if self._head_bytes > self.max_head_bytes:
                    self._refuse()

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            self._await_head()
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _await_head(self) -> None:
            self._in_head, self._head_bytes = True, 0
            self._arm()

        def _refuse(self) -> None:
            body = _error_body(
                f"The request head passed {self.max_head_bytes:,} bytes.", "headers_too_large"
            )
            head = (
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json"
                b"\r\nconnection: close\r\ncontent-length: %d\r\n\r\n" % len(body)
            )
            self.transport.write(head + body)
            self.transport.close()

    return _GuardedHttpTools


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
        body = _error_body(message, "headers_too_large")
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 431, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _fits(self, headers: list[tuple[bytes, bytes]]) -> bool:
        size = sum(len(name) + len(value) + 4 for name, value in headers)
        return len(headers) <= self.max_headers and size <= self.max_bytes


def uvicorn_options(settings: ServerSettings, parser: str = "auto") -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` enforcing `settings`:
    head size, head deadline, idle keep-alive and the connection cap. `parser` is
    ``auto`` (httptools when installed, else h11) or ``h11``."""
    base = (_httptools_protocol() if parser == "auto" else None) or _GuardedH11
    limits = {
        "head_timeout_s": settings.head_timeout_s,
        "max_head_bytes": settings.max_header_bytes,
    }
    return {
        "http": type("TrifectaHttpProtocol", (base,), limits),
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": settings.keep_alive_s,
        "limit_concurrency": settings.max_connections,
    }


def _presented(authorization: str, basic: bool) -> str | None:
    """The key in ``Bearer <key>``, or (`basic`) the password of HTTP Basic credentials."""
    scheme, _, value = authorization.partition(" ")
    if scheme == "Bearer":
        return value.strip()
    if scheme != "Basic" or not basic:
        return None
    try:
        return base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
    except (binascii.Error, UnicodeDecodeError):
        return None


def matching_key(authorization: str, keys: tuple[str, ...], *, basic: bool = False) -> str | None:
    """The configured key that an ``Authorization`` header carries (compared in constant
    time): ``Bearer <key>``, or with `basic` also HTTP Basic credentials whose password is
    the key (what a browser sends for a page once asked); None when it carries none."""
    key = _presented(authorization, basic)
    if key is None:
        return None
    return next((k for k in keys if hmac.compare_digest(key.encode(), k.encode())), None)


def authorize(request: Request, keys: tuple[str, ...]) -> str | None:
    """The caller's API key for `trifecta serve` (None when it has none configured), as a
    bearer key or the password of HTTP Basic credentials.

    Raises:
        ApiError: 401 without a valid key; it asks browsers for Basic credentials.
    """
    if not keys:
        return None
    key = matching_key(request.headers.get("authorization", ""), keys, basic=True)
    if key is None:
        raise ApiError(
            401,
            "Incorrect or missing API key (send Authorization: Bearer <key>).",
            "invalid_request_error",
            "invalid_api_key",
            headers={"WWW-Authenticate": 'Basic realm="trifecta", charset="UTF-8"'},
        )
    return key


class ApiKeyGate:
    """ASGI middleware: with `keys` configured, an HTTP request without one of them as
    its bearer key is a 401 before the app runs (`trifecta mcp` over HTTP)."""

    def __init__(self, app: Any, keys: tuple[str, ...]) -> None:
        self.app, self.keys = app, keys

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Refuse, or pass the request on."""
        if scope["type"] != "http" or not self.keys:
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        if matching_key(header, self.keys) is not None:
            await self.app(scope, receive, send)
            return
        body = _error_body(
            "Incorrect or missing API key (send Authorization: Bearer <key>).", "invalid_api_key"
        )
        headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})
