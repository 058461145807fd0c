"""A scripted OpenAI-protocol HTTP server on loopback, for tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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
    return Scripted(
        {"error": {"message": message, "type": "rate_limit" if status == 429 else "server"}},
        status,
        headers={"retry-after-ms": "10"},
    )


class Server:
    """Replies from a queue or a function of the request body; records requests."""

    def __init__(self, replies: list[Scripted] | Callable[[dict[str, Any]], Scripted]) -> None:
        self.replies = replies
        self.requests: list[dict[str, Any]] = []
        self.url = ""

    def next_reply(self, body: dict[str, Any]) -> Scripted:
        self.requests.append(body)
        if callable(self.replies):
            return self.replies(body)
        return self.replies.pop(0) if self.replies else error(500, "script exhausted")


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
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
def serve(replies: list[Scripted] | Callable[[dict[str, Any]], Scripted]) -> Iterator[Server]:
    """Run a `Server` on 127.0.0.1 (random port) for the duration of the block."""
    state = Server(replies)
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
