"""`trifecta serve` under hostile input, over real HTTP on loopback (httpx, raw sockets).

Timeouts here bound a wait so that a hang fails the test; nothing asserts a duration.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests import serving
from tests.net import PG_URL, free_port, wait_until_up
from trifecta import Trifecta
from trifecta.config import Config
from trifecta.specialists import FunctionSolver, Specialist, default_specialists
from trifecta.testing import TcpProxy
from trifecta.verdict import Verdict

HANG = 60.0  # seconds before a request that never answers fails the test


@contextmanager
def serve(
    tmp_path: Path,
    *,
    checkpoint: str | None = None,
    build: Callable[[Config, Any], Trifecta] | None = None,
    parser: str = "auto",
    **server: Any,
) -> Iterator[str]:
    """Run the app under uvicorn (with the CLI's HTTP options) in a thread; yield its URL."""
    overrides = {"checkpoint": checkpoint} if checkpoint else None
    yield from serving.serve(tmp_path, overrides, build, parser=parser, **server)


def ask(
    url: str, content: str, headers: dict[str, str] | None = None, **extra: Any
) -> httpx.Response:
    body = {"model": "trifecta", "messages": [{"role": "user", "content": content}], **extra}
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=HANG)


def answer(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with serve(tmp_path) as url:
        yield url


def test_a_blocking_affinity_does_not_stall_other_requests(tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()

    def affinity(clause: str) -> float:
        if "hold" in clause:
            entered.set()
            release.wait(HANG)  # stands for CPU-bound routing work
            return 1.0
        return 0.0

    holder = Specialist(
        "holder",
        "Holds.",
        [FunctionSolver(lambda job: "held")],
        lambda j, c: Verdict("verified", "ok"),
        affinity,
    )

    def build(config: Config, saver: Any) -> Trifecta:
        return Trifecta([*default_specialists(), holder], checkpoint=saver)

    with serve(tmp_path, build=build) as url:
        held: list[httpx.Response] = []
        first = threading.Thread(target=lambda: held.append(ask(url, "Please hold the line.")))
        first.start()
        try:
            assert entered.wait(HANG)
            assert "→ 7 [t1: verified]" in answer(ask(url, "What is 3+4?"))
        finally:
            release.set()
            first.join(HANG)
        assert "held" in answer(held[0])


@contextmanager
def serve_process(tmp_path: Path, config: str) -> Iterator[str]:
    """``trifecta serve`` in its own process (a stalled server cannot freeze the test)."""
    (tmp_path / "trifecta.toml").write_text(config)
    env = {**os.environ, "TRIFECTA_DATA_DIR": str(tmp_path),
           "TRIFECTA_CONFIG": str(tmp_path / "trifecta.toml")}  # fmt: skip
    port = free_port()
    command = [sys.executable, "-m", "trifecta.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(timeout=30)


def test_a_quadratic_regex_input_cannot_stall_the_server(tmp_path: Path) -> None:
    hostile = "1 " * 49_000 + "x"  # ~98 KB: the math tier-0 patterns once took minutes on it
    with serve_process(tmp_path, "[server]\ndeadline_s = 5.0\n") as url:
        replies: list[httpx.Response] = []
        first = threading.Thread(target=lambda: replies.append(ask(url, hostile)), daemon=True)
        first.start()
        for _ in range(200):
            if httpx.get(f"{url}/healthz", timeout=HANG).json()["active_runs"]:
                break
            threading.Event().wait(0.01)
        assert "→ 7 [t1: verified]" in answer(ask(url, "What is 3+4?"))
        first.join(HANG)
        assert replies and replies[0].status_code in (200, 504)


def test_field_types_unicode_and_depth_are_checked(server: str) -> None:
    url = f"{server}/v1/chat/completions"
    message = [{"role": "user", "content": "What is 1+1?"}]
    streamed = httpx.post(url, json={"messages": message, "stream": "false"}, timeout=HANG)
    assert streamed.status_code == 400 and "stream" in streamed.json()["error"]["message"]
    wrong = httpx.post(url, json={"messages": [{"role": "user", "content": 7}]}, timeout=HANG)
    assert wrong.status_code == 400 and code(wrong) == "invalid_messages"
    surrogate = b'{"messages": [{"role": "user", "content": "What is 1+1? \\ud800"}]}'
    deep = (
        b'{"messages": [{"role": "user", "content": "1+1"}], "x": '
        + b"[" * 50_000
        + b"]" * 50_000
        + b"}"
    )
    for raw in (surrogate, deep, b'{"messages": "\xff"}'):
        reply = httpx.post(
            url, content=raw, headers={"content-type": "application/json"}, timeout=HANG
        )
        assert reply.status_code == 400 and code(reply) == "invalid_json", reply.text
    assert httpx.get(f"{server}/healthz", timeout=HANG).json()["completed_runs"] == 0


def test_control_characters_do_not_change_routing(server: str) -> None:
    plain = answer(ask(server, "What is 3+4?"))
    for dirty in ("What is 3\x00+4?", "What\x00 is 3+4?\x1b", "What is 3+4?\x00\x7f"):
        assert answer(ask(server, dirty)) == plain


def test_conversations_belong_to_the_api_key_that_started_them(tmp_path: Path) -> None:
    with serve(tmp_path, api_keys=("key-a", "key-b")) as url:
        conversation = f"shared-{uuid.uuid4().hex[:8]}"

        def turn(key: str, content: str) -> dict[str, Any]:
            reply = httpx.post(
                f"{url}/v1/chat/completions",
                json={"messages": [{"role": "user", "content": content}], "user": conversation},
                headers={"Authorization": f"Bearer {key}"},
                timeout=HANG,
            )
            assert reply.status_code == 200, reply.text
            return dict(reply.json())

        first = turn("key-a", "What is 6*7?")
        other = turn("key-b", "What is 2+2?")
        again = turn("key-a", "What is 6*7?")
        assert "→ 42" in first["choices"][0]["message"]["content"]
        assert "→ 4 " in other["choices"][0]["message"]["content"]
        assert [r["trifecta"]["replayed"] for r in (first, other, again)] == [False, False, True]


@pytest.mark.parametrize("parser", ["auto", "h11"])
def test_oversized_heads_headers_and_conversation_ids_are_refused(
    tmp_path: Path, parser: str
) -> None:
    with serve(tmp_path, parser=parser, max_conversation_chars=64, max_headers=20) as url:
        big = ask(url, "What is 1+1?", headers={"X-Padding": "a" * 100_000})
        assert big.status_code in (400, 431)
        assert _head_refused_while_arriving(url)
        many = {f"X-H{i}": "1" for i in range(30)}
        assert ask(url, "What is 1+1?", headers=many).status_code == 431
        long_id = ask(url, "What is 1+1?", headers={"X-Conversation-Id": "c" * 5_000})
        assert long_id.status_code == 400 and code(long_id) == "invalid_conversation_id"
        assert ask(url, "What is 1+1?", user="u" * 65).status_code == 400
        assert "→ 2" in answer(ask(url, "What is 1+1?", user="u" * 64))


def _raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=HANG)


def _head_refused_while_arriving(url: str) -> bool:
    """Send a head 4 KB at a time (up to 4 MB): refused (4xx or closed) before its end?"""
    sock = _raw(url)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nX-Big: ")
    try:
        for _ in range(1024):
            sock.sendall(b"a" * 4096)
            sock.settimeout(0)
            with contextlib.suppress(BlockingIOError):
                reply = sock.recv(4096)
                return reply == b"" or reply.startswith((b"HTTP/1.1 431", b"HTTP/1.1 400"))
            sock.settimeout(HANG)
    except OSError:  # reset by the server
        return True
    finally:
        sock.close()
    return False


def test_a_chunked_body_is_refused_while_it_is_read(tmp_path: Path) -> None:
    limit, chunk = 100_000, b"x" * 16_384
    with serve(tmp_path, max_body_bytes=limit) as url:
        sock = _raw(url)
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sent, reply = 0, b""
        while sent < 300 * limit and not reply:  # bounded: at most 30 MB
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            except OSError:
                break
            sock.settimeout(0)
            with contextlib.suppress(BlockingIOError):
                reply = sock.recv(65536)
            sock.settimeout(HANG)
        if not reply:
            sock.settimeout(HANG)
            reply = sock.recv(65536)
        sock.close()
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
        # answered while the body was still arriving (what we sent beyond the limit sat
        # in the kernel's socket buffers, never in the server's memory)
        assert sent < 300 * limit


@pytest.mark.parametrize("parser", ["auto", "h11"])
def test_idle_and_slow_clients_are_cut_off(tmp_path: Path, parser: str) -> None:
    with serve(tmp_path, parser=parser, head_timeout_s=0.5, body_timeout_s=0.5) as url:
        idle = _raw(url)
        assert idle.recv(1024) == b""  # closed by the server, not by our timeout
        slow_head = _raw(url)
        closed = False
        for byte in b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n" * 10:
            try:
                slow_head.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            threading.Event().wait(0.05)
        slow_head.settimeout(HANG)
        assert closed or slow_head.recv(1024) == b""
        slow_body = _raw(url)
        slow_body.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"mess'
        )
        assert slow_body.recv(65536).startswith(b"HTTP/1.1 408")
        for sock in (idle, slow_head, slow_body):
            sock.close()


def test_a_checkpoint_outage_is_a_503_and_ends_by_itself(tmp_path: Path) -> None:
    real = urlsplit(PG_URL)
    proxy = TcpProxy((real.hostname or "127.0.0.1", real.port or 5432))
    proxy.start()
    netloc = f"{real.username or 'postgres'}@127.0.0.1:{proxy.port}"
    database = urlunsplit(real._replace(netloc=netloc))
    try:
        with serve(tmp_path, checkpoint=database, checkpoint_timeout_s=1.0) as url:
            assert "→ 2" in answer(ask(url, "What is 1+1?"))
            proxy.cut()
            down = ask(url, "What is 2+2?")
            assert down.status_code == 503 and code(down) == "checkpoint_unavailable"
            health = httpx.get(f"{url}/healthz", timeout=HANG)
            assert health.status_code == 503 and health.json()["checkpointer"].startswith(
                "unavailable"
            )
            proxy.start()
            for _ in range(120):  # the pool reconnects on its own; no restart
                back = ask(url, "What is 3+3?")
                if back.status_code == 200:
                    break
                assert back.status_code == 503
                threading.Event().wait(0.5)
            assert "→ 6" in answer(back)
            assert httpx.get(f"{url}/healthz", timeout=HANG).json()["checkpointer"] == "ok"
    finally:
        proxy.cut()
