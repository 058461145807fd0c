"""Hostile inputs against a real `trifecta serve` on 127.0.0.1 (issue 12, server part).

`server_rows()` starts ``trifecta serve`` (PostgreSQL checkpointer reached through a
loopback proxy that can be cut, two API keys), sends each hostile input once and
counts those contained: answered as specified (400/408/413/431/503/504, a closed
connection, the same routing, no replay across keys) and followed by a healthy server.
`loaded_latency()` times a small request with the server idle and while a hostile
request is in flight. Every loop is bounded; the server is stopped at the end.

Run alone: .venv/bin/python benchmarks/_hardening_server.py
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from _table import free_port

from trifecta.testing import TcpProxy

__all__ = ["Case", "loaded_latency", "server_cases", "server_rows"]

PG_URL = os.environ.get("TRIFECTA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
KEYS = ("bench-key-a", "bench-key-b")
WAIT = 60.0  # bound on any single wait
HOSTILE = "1 " * 49_000 + "x"  # ~98 KB; quadratic in the old math tier-0 patterns
CONFIG = """[server]
head_timeout_s = 2.0
body_timeout_s = 2.0
deadline_s = 20.0
checkpoint_timeout_s = 1.0
max_body_bytes = 1000000
"""

Case = tuple[str, Callable[["Server"], bool]]


class Server:
    """A running ``trifecta serve`` and the proxy in front of its checkpoint database."""

    def __init__(self, url: str, proxy: TcpProxy) -> None:
        self.url, self.proxy = url, proxy
        self.host, self.port = "127.0.0.1", int(url.rsplit(":", 1)[1])

    def ask(self, content: str, key: str = KEYS[0], **extra: object) -> httpx.Response:
        body = {"model": "trifecta", "messages": [{"role": "user", "content": content}], **extra}
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.post(
            f"{self.url}/v1/chat/completions", json=body, headers=headers, timeout=WAIT
        )

    def raw(self, payload: bytes, key: str = KEYS[0]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        return httpx.post(
            f"{self.url}/v1/chat/completions", content=payload, headers=headers, timeout=WAIT
        )

    def healthy(self) -> bool:
        reply = self.ask("What is 20+22?")
        return reply.status_code == 200 and "→ 42" in reply.text

    def socket(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=WAIT)


def _status(reply: httpx.Response, *codes: int) -> bool:
    return reply.status_code in codes


def _quadratic_regex(server: Server) -> bool:
    done: list[httpx.Response] = []
    hostile = threading.Thread(target=lambda: done.append(server.ask(HOSTILE)))
    hostile.start()
    small = server.ask("What is 3+4?")
    hostile.join(WAIT)
    return _status(small, 200) and "→ 7" in small.text and bool(done) and _status(done[0], 200, 504)


def _chunked_300mb(server: Server) -> bool:
    sock = server.socket()
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + KEYS[0].encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk, sent, reply = b"x" * 65_536, 0, b""
    while sent < 300_000_000 and not reply:
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            break
        sent += len(chunk)
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            reply = sock.recv(4096)
        sock.setblocking(True)
    sock.settimeout(WAIT)
    with contextlib.suppress(OSError):
        reply = reply or sock.recv(4096)
    sock.close()
    return reply.startswith(b"HTTP/1.1 413") and sent < 20_000_000


def _head_100mb(server: Server) -> bool:
    sock = server.socket()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nX-Big: ")
    sent, closed = 0, False
    while sent < 100_000_000:
        try:
            sock.sendall(b"a" * 65_536)
        except OSError:
            closed = True
            break
        sent += 65_536
    sock.close()
    return closed and sent < 10_000_000


def _header(name: str, size: int) -> Callable[[Server], bool]:
    def case(server: Server) -> bool:
        headers = {"Authorization": f"Bearer {KEYS[0]}", name: "c" * size}
        body = {"messages": [{"role": "user", "content": "What is 1+1?"}]}
        reply = httpx.post(
            f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=WAIT
        )
        return _status(reply, 400, 431)

    return case


def _many_headers(server: Server) -> bool:
    headers = {f"X-H{i}": "1" for i in range(500)} | {"Authorization": f"Bearer {KEYS[0]}"}
    body = {"messages": [{"role": "user", "content": "What is 1+1?"}]}
    reply = httpx.post(
        f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=WAIT
    )
    return _status(reply, 431, 400)


def _deep_json(server: Server) -> bool:
    payload = (
        b'{"messages": [{"role": "user", "content": "1+1"}], "x": '
        + b"[" * 50_000
        + b"]" * 50_000
        + b"}"
    )
    return _status(server.raw(payload), 400)


def _lone_surrogate(server: Server) -> bool:
    return _status(server.raw(b'{"messages": [{"role": "user", "content": "1+1 \\ud800"}]}'), 400)


def _string_stream(server: Server) -> bool:
    return _status(server.ask("What is 1+1?", stream="false"), 400)


def _nul(server: Server) -> bool:
    plain, dirty = server.ask("What is 3+4?"), server.ask("What is 3\x00+4?\x00")
    same = (
        plain.json()["choices"][0]["message"]["content"]
        == dirty.json()["choices"][0]["message"]["content"]
    )
    return _status(dirty, 200) and same


def _other_key(server: Server) -> bool:
    conversation = f"bench-{time.monotonic_ns()}"
    server.ask("What is 6*7?", user=conversation)
    other = server.ask("What is 2+2?", key=KEYS[1], user=conversation)
    return _status(other, 200) and not other.json()["trifecta"]["replayed"] and "→ 4 " in other.text


def _closed_by_server(sock: socket.socket, trickle: bytes = b"") -> bool:
    for byte in trickle:  # one byte every 0.1 s, at most ~30 s
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return True
        time.sleep(0.1)
    try:
        return sock.recv(1024) == b""
    except OSError:
        return True
    finally:
        sock.close()


def _idle(server: Server) -> bool:
    return _closed_by_server(server.socket())


def _slow_head(server: Server) -> bool:
    return _closed_by_server(
        server.socket(), b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n" * 6
    )


def _slow_body(server: Server) -> bool:
    sock = server.socket()
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + KEYS[0].encode() + b'\r\nContent-Length: 100\r\n\r\n{"me'
    )
    try:
        return sock.recv(4096).startswith(b"HTTP/1.1 408")
    finally:
        sock.close()


def _outage(server: Server) -> bool:
    server.proxy.cut()
    try:
        down = server.ask("What is 2+2?")
        health = httpx.get(f"{server.url}/healthz", timeout=WAIT)
        refused = _status(down, 503) and down.json()["error"]["code"] == "checkpoint_unavailable"
        reported = health.status_code == 503
    finally:
        server.proxy.start()
    for _ in range(120):  # recovery without a restart
        if server.ask("What is 5+5?").status_code == 200:
            return refused and reported
        time.sleep(0.5)
    return False


def server_cases() -> list[Case]:
    """Every hostile input, by name."""
    return [
        ("48+ KB quadratic-regex request beside a small one", _quadratic_regex),
        ("300 MB chunked body", _chunked_300mb),
        ("100 MB request head", _head_100mb),
        ("5 MB X-Conversation-Id", _header("X-Conversation-Id", 5_000_000)),
        ("12 KB X-Conversation-Id", _header("X-Conversation-Id", 12_000)),
        ("500 headers", _many_headers),
        ("50,000-deep JSON", _deep_json),
        ("lone surrogate", _lone_surrogate),
        ('"stream": "false"', _string_stream),
        ("NUL in the content", _nul),
        ("same conversation under another key", _other_key),
        ("idle connection", _idle),
        ("slow request head", _slow_head),
        ("slow body", _slow_body),
        ("checkpoint database outage", _outage),
    ]


@contextmanager
def running_server(postgres: bool = True) -> Iterator[Server]:
    """``trifecta serve`` in a subprocess, its checkpoints in PostgreSQL behind a proxy
    (or, with `postgres` false, in its default SQLite file: no proxy traffic in this
    process to compete with the server for the machine's cores)."""
    real = urlsplit(PG_URL)
    proxy = TcpProxy((real.hostname or "127.0.0.1", real.port or 5432))
    proxy.start()
    checkpoint = urlunsplit(
        real._replace(netloc=f"{real.username or 'postgres'}@127.0.0.1:{proxy.port}")
    )
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "trifecta.toml"
        config.write_text(CONFIG)
        env = {**os.environ, "TRIFECTA_DATA_DIR": tmp, "TRIFECTA_CONFIG": str(config),
               "TRIFECTA_API_KEYS": ",".join(KEYS)}  # fmt: skip
        for variable in ("OPENAI_BASE_URL", "TRIFECTA_MODEL", "OPENAI_API_KEY"):
            env.pop(variable, None)
        command = [
            sys.executable,
            "-m",
            "trifecta.cli",
            "serve",
            "--port",
            str(port),
            *(["--checkpoint", checkpoint] if postgres else []),
        ]
        process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_up(url)
            yield Server(url, proxy)
        finally:
            process.terminate()
            process.wait(timeout=30)
            proxy.cut()


def _wait_up(url: str) -> None:
    for _ in range(600):
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def _contained(server: Server, case: Callable[[Server], bool]) -> bool:
    try:
        held = case(server)
    except (OSError, httpx.HTTPError, ValueError, KeyError):
        held = False
    return held and server.healthy()


def server_rows() -> list[tuple[str, int, int]]:
    """One row: ("server hostile inputs", tried, contained)."""
    with running_server() as server:
        results = [_contained(server, case) for _, case in server_cases()]
    return [("server hostile inputs", len(results), sum(results))]


def _latencies(server: Server, count: int, offset: int) -> list[float]:
    out = []
    for i in range(count):
        start = time.perf_counter()
        reply = server.ask(f"What is {offset + i} + 17?")
        out.append((time.perf_counter() - start) * 1000)
        assert f"→ {offset + i + 17} " in reply.text, reply.text
    return out


def loaded_latency(count: int = 30) -> tuple[float, float]:
    """Median latency (ms) of a small request with the server idle, and while one
    hostile request (the ~98 KB quadratic-regex input) is always in flight."""
    with running_server(postgres=False) as server:
        _latencies(server, 10, 0)  # warm-up
        idle = statistics.median(_latencies(server, count, 1000))
        stop = threading.Event()

        body = json.dumps({"messages": [{"role": "user", "content": HOSTILE}]}).encode()

        def hostile() -> None:
            while not stop.is_set():
                server.raw(body)

        thread = threading.Thread(target=hostile)
        thread.start()
        time.sleep(0.2)
        try:
            loaded = statistics.median(_latencies(server, count, 2000))
        finally:
            stop.set()
            thread.join(WAIT)
    return idle, loaded


def main() -> int:
    with running_server() as server:
        for name, case in server_cases():
            print(f"{'contained' if _contained(server, case) else 'NOT contained':>13}  {name}")
    idle, loaded = loaded_latency()
    print(
        f"small request: idle {idle:.1f} ms, with a hostile request in flight {loaded:.1f} ms ({loaded / idle:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
