"""MCP rows of the serve benchmark: `check_math` calls per second through `trifecta mcp`
over stdio and streamable HTTP (official client, one session, calls in sequence and
8 at once), against `check_math` called in-process the same way."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
from _table import Row, free_port
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from trifecta.specialists.math import check_math

Call = Callable[[int], Awaitable[str]]


def _claim(i: int) -> dict[str, Any]:
    return {"id": i, "kind": "value", "expr": f"{i} + 17", "answer": str(i + 17)}


async def _rate(call: Call, calls: int, width: int) -> float:
    """Calls per second, `width` at a time; every verdict must be `verified`."""
    queue = list(range(calls))

    async def worker() -> None:
        while queue:
            status = await call(queue.pop())
            assert status == "verified", status

    for i in range(20):  # warm-up: worker pool, code paths
        await call(i)
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(width)))
    return calls / (time.perf_counter() - start)


async def _direct(i: int) -> str:
    verdicts = await asyncio.to_thread(lambda: list(check_math([_claim(i)])))
    return str(verdicts[0].status)


def _over(session: ClientSession) -> Call:
    async def call(i: int) -> str:
        result = await session.call_tool("check_math", {"claims": [_claim(i)]})
        assert not result.is_error and result.structured_content
        return str(result.structured_content["verdicts"][0]["status"])

    return call


async def _stdio(calls: int, env: dict[str, str]) -> tuple[float, float]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "trifecta.cli", "mcp"], env=env
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await _rate(_over(session), calls, 1), await _rate(_over(session), calls, 8)


async def _http(calls: int, env: dict[str, str]) -> tuple[float, float]:
    port = free_port()
    command = [sys.executable, "-m", "trifecta.cli", "mcp", "--transport", "http", "--port", str(port)]  # fmt: skip
    server = subprocess.Popen(command, env=env)
    try:
        _wait(port)
        async with (
            httpx2.AsyncClient(timeout=60) as http,
            streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http) as streams,
            ClientSession(*streams) as session,
        ):
            await session.initialize()
            return await _rate(_over(session), calls, 1), await _rate(_over(session), calls, 8)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait(port: int) -> None:
    for _ in range(600):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"trifecta mcp did not open port {port}")


async def mcp_rows(calls: int, data_dir: str) -> list[Row]:
    """`check_math` calls per second: in-process, over stdio, over streamable HTTP."""
    env = {**os.environ, "TRIFECTA_DATA_DIR": data_dir}
    env.pop("TRIFECTA_API_KEYS", None)
    direct = (await _rate(_direct, calls, 1), await _rate(_direct, calls, 8))
    rows: list[Row] = [
        (
            "check_math in-process",
            f"{direct[0]:.0f} calls/s",
            f"8 at once: {direct[1]:.0f} calls/s; {calls} calls of one claim",
        )
    ]
    for name, rates in (("stdio", await _stdio(calls, env)), ("HTTP", await _http(calls, env))):
        rows.append(
            (
                f"MCP check_math over {name}",
                f"{rates[0]:.0f} calls/s",
                f"{rates[0] / direct[0]:.2f}x in-process; 8 at once: {rates[1]:.0f} calls/s "
                f"({rates[1] / direct[1]:.2f}x)",
            )
        )
    return rows
