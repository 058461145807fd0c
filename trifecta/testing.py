"""Test doubles for models.

`FunctionModel` (like pydantic-ai's): the function sees the messages and the call
info and returns text, a JSON-able dict, or a `ModelReply`, or raises (e.g.
`ModelTimeout`). It sits behind the same `ChatModel` interface as a real model, so
everything from the ledger to structured-output parsing runs for real.

`serve_openai`: a scripted OpenAI-protocol HTTP server on loopback, for exercising
the real `openai` client path (tests, notebooks, demos without a model).

`forge_audit`: rewrites an audit log as a forger without the key would, for tamper tests.
`TcpProxy`: a loopback forwarder that can be cut and restored, for a database outage
on demand without touching the database server.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from trifecta._audit_chain import GENESIS, digest
from trifecta._audit_head import Head, write_sidecar
from trifecta.models import (
    Message,
    ModelBase,
    ModelReply,
    ModelTimeout,
    OutputSchema,
    Price,
    Privacy,
    Usage,
    parse_json,
)

__all__ = [
    "CallInfo",
    "FunctionModel",
    "Reply",
    "Scripted",
    "ScriptedServer",
    "TcpProxy",
    "completion",
    "error",
    "forge_audit",
    "serve_openai",
]

Reply = str | dict[str, Any] | ModelReply


@dataclass(frozen=True)
class CallInfo:
    """What the reply function knows about the call."""

    index: int
    schema: OutputSchema | None
    model: str

    @property
    def schema_name(self) -> str | None:
        """The requested schema's name (``plan``, ``sql_query``...) or None."""
        return self.schema.name if self.schema else None


class FunctionModel(ModelBase):
    """A scripted `ChatModel`.

    Args:
        fn: ``(messages, info) -> str | dict | ModelReply`` (sync or async).
        name: the model name recorded in the ledger.
        price: USD per million tokens.
        latency: seconds to sleep before each reply (benchmarks, timeouts).
    """

    def __init__(
        self,
        fn: Callable[[list[Message], CallInfo], Reply | Awaitable[Reply]],
        *,
        name: str = "function-model",
        price: Price | None = None,
        latency: float = 0.0,
        privacy: Privacy = "local",
    ) -> None:
        super().__init__(
            name, price, privacy, latency_s=latency or None, provider="trifecta.testing"
        )
        self.fn = fn
        self.latency = latency
        self.calls: list[list[Message]] = []

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: OutputSchema | None = None,
        timeout: float | None = None,
    ) -> ModelReply:
        """Compute the reply; enforces `timeout` like a real client."""
        try:
            return await asyncio.wait_for(self._reply(list(messages), schema), timeout)
        except TimeoutError as exc:
            raise ModelTimeout(f"{self._name}: timed out after {timeout}s") from exc

    async def _reply(self, messages: list[Message], schema: OutputSchema | None) -> ModelReply:
        info = CallInfo(len(self.calls), schema, self._name)
        self.calls.append(messages)
        if self.latency:
            await asyncio.sleep(self.latency)
        out = self.fn(messages, info)
        if inspect.isawaitable(out):
            out = await out
        if isinstance(out, ModelReply):
            return out
        text = json.dumps(out) if isinstance(out, dict) else str(out)
        usage = Usage(sum(len(m.content) for m in messages) // 4 + 1, len(text) // 4 + 1)
        data = parse_json(text) if schema is not None else None
        return ModelReply(text=text, model=self._name, usage=usage, data=data)


@dataclass
class Scripted:
    """One scripted HTTP reply."""

    body: dict[str, Any]
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def completion(
    content: str | None = None, *, tool_args: str | None = None, model: str = "tiny"
) -> dict[str, Any]:
    """A chat.completion body (text, or one forced tool call)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_args is not None:
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "plan", "arguments": tool_args},
            }
        ]
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }  # fmt: skip


def error(status: int, message: str) -> Scripted:
    """An OpenAI-style error reply (with ``retry-after-ms: 10`` so clients retry fast)."""
    return Scripted(
        {"error": {"message": message, "type": "rate_limit" if status == 429 else "server"}},
        status,
        headers={"retry-after-ms": "10"},
    )


class ScriptedServer:
    """Replies from a queue or a function of the request body; records requests."""

    def __init__(self, replies: list[Scripted] | Callable[[dict[str, Any]], Scripted]) -> None:
        self.replies = replies
        self.requests: list[dict[str, Any]] = []
        self.url = ""

    def next_reply(self, body: dict[str, Any]) -> Scripted:
        """Record the request body and pick its reply."""
        self.requests.append(body)
        if callable(self.replies):
            return self.replies(body)
        return self.replies.pop(0) if self.replies else error(500, "script exhausted")


def _handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            reply = server.next_reply(json.loads(self.rfile.read(length) or b"{}"))
            time.sleep(reply.delay)
            payload = json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve_openai(
    replies: list[Scripted] | Callable[[dict[str, Any]], Scripted],
) -> Iterator[ScriptedServer]:
    """Run a `Server` on 127.0.0.1 (random port) for the duration of the block."""
    state = ScriptedServer(replies)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


Records = list[dict[str, Any]]


def forge_audit(
    path: str | Path, change: Callable[[Records], Records], *, keep_macs: bool = False
) -> None:
    """Rewrite the audit log at `path` as a forger without the key would: apply `change`
    to its records, renumber, relink and re-hash the chain, and write a matching head
    file. MACs cannot be recomputed: they are dropped, or kept stale with `keep_macs`."""
    log = Path(path)
    records = change([json.loads(line) for line in log.read_text("utf-8").splitlines()])
    prev = GENESIS
    for seq, record in enumerate(records):
        if not keep_macs:
            record.pop("mac", None)
            record.pop("key_id", None)
        record.update(seq=seq, prev=prev)
        record["hash"] = prev = digest(record)
    log.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records), "utf-8")
    write_sidecar(log, Head(len(records) - 1, prev))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TcpProxy:
    """A loopback TCP forwarder to `target` that can be cut (every connection closed,
    new ones refused) and restored on the same port: a database outage on demand."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Listen (again) on `port`."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and close every forwarded connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):  # forward small packets at once (no Nagle delay)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
