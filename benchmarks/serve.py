"""Serve benchmark: `trifecta serve` (offline tiers) driven by the openai client on loopback.

- Requests per second and latency p50/p99 at 1, 8 and 64 concurrent clients.
- `/v1/responses` against `/v1/chat/completions`: requests per second at 8 clients,
  alternating rounds of each (target: within 10%).
- Time to first streamed byte (the role chunk) and to the first content chunk.
- Server memory (RSS) at start, after warm-up and after 10,000 requests.
- `trifecta mcp`: `check_math` calls per second over stdio and streamable HTTP against
  `check_math` in-process (`_mcp_bench.py`).
- The run inspector on a 100-subtask run: the page rendered from its data (server-side
  HTML and SVG, target <= 50 ms), and ``GET /runs/{id}`` end to end (checkpoint read,
  view, render, HTTP).

Run: .venv/bin/python benchmarks/serve.py [--requests 10000] [--mcp-calls 2000]
Prints one table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import httpx
import openai
from _mcp_bench import mcp_rows
from _table import free_port, percentiles, print_table

from trifecta._inspect_page import render_page

Row = tuple[str, str, str]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def ask(api: openai.AsyncOpenAI, endpoint: str, i: int) -> str:
    question = f"What is {i} + 17?"
    if endpoint == "responses":
        response = await api.responses.create(model="trifecta", input=question)
        return response.output_text
    reply = await api.chat.completions.create(
        model="trifecta", messages=[{"role": "user", "content": question}]
    )
    return reply.choices[0].message.content or ""


async def load(
    api: openai.AsyncOpenAI, clients: int, total: int, offset: int, endpoint: str = "chat"
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(offset + i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            start = time.perf_counter()
            text = await ask(api, endpoint, i)
            latencies.append((time.perf_counter() - start) * 1000)
            assert f"→ {i + 17} " in text

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return total / (time.perf_counter() - start), latencies


async def first_bytes(url: str, n: int = 50) -> tuple[list[float], list[float]]:
    role, content = [], []
    async with httpx.AsyncClient(timeout=60) as http:
        for i in range(n):
            body = {
                "model": "trifecta",
                "stream": True,
                "messages": [{"role": "user", "content": f"What is {i} * 3?"}],
            }
            start = time.perf_counter()
            async with http.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
                seen_role = False
                async for line in response.aiter_lines():
                    if line.startswith("data: ") and not seen_role:
                        role.append((time.perf_counter() - start) * 1000)
                        seen_role = True
                    if '"content": "What' in line:
                        content.append((time.perf_counter() - start) * 1000)
                        break
    return role, content


async def inspector(url: str, n: int = 50) -> list[Row]:
    """A 100-part request, then its inspector page: rendered alone, and served."""
    request = " ".join(f"What is {i} + 17?" for i in range(100))
    body = {"model": "trifecta", "messages": [{"role": "user", "content": request}]}
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        reply = await http.post(
            "/v1/chat/completions", json=body, headers={"X-Conversation-Id": "inspect-100"}
        )
        assert reply.status_code == 200, reply.text
        view = (await http.get("/runs/inspect-100.json")).json()
        assert len(view["subtasks"]) == 100, len(view["subtasks"])
        served, size = [], 0
        for _ in range(n):
            start = time.perf_counter()
            page = await http.get("/runs/inspect-100")
            served.append((time.perf_counter() - start) * 1000)
            size = len(page.content)
    rendered = []
    for _ in range(n):
        start = time.perf_counter()
        render_page(view)
        rendered.append((time.perf_counter() - start) * 1000)
    return [
        ("inspector page render, 100 subtasks", percentiles(rendered), f"target <= 50 ms; {size / 1024:.0f} KiB"),
        ("GET /runs/{id}, 100 subtasks", percentiles(served), "checkpoint read + view + render + HTTP"),
    ]  # fmt: skip


async def run(url: str, pid: int, requests: int) -> list[Row]:
    api = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=120)
    start_rss = rss_mib(pid)
    await load(api, 8, 200, 0)  # warm-up: worker pool, checkpointer, code paths
    warm_rss = rss_mib(pid)
    rows: list[Row] = []
    offset = 1000
    for clients in (1, 8, 64):
        total = max(100, clients * 10)
        rate, latencies = await load(api, clients, total, offset)
        offset += total
        rows.append(
            (
                f"{clients} concurrent client(s)",
                f"{rate:.1f} req/s",
                f"{percentiles(latencies)}; {total} requests",
            )
        )
    rates: dict[str, list[float]] = {"chat": [], "responses": []}
    for _ in range(3):  # alternate, so drift on a shared machine hits both alike
        for endpoint in rates:
            rate, _ = await load(api, 8, 200, offset, endpoint)
            rates[endpoint].append(rate)
            offset += 200
    chat, responses = (statistics.median(rates[e]) for e in ("chat", "responses"))
    rows.append(
        (
            "/v1/responses vs /v1/chat/completions (8 clients)",
            f"{responses:.1f} vs {chat:.1f} req/s",
            f"ratio {responses / chat:.2f}; median of 3 alternating rounds of 200",
        )
    )
    role, content = await first_bytes(url)
    rows.append(
        (
            "time to first streamed byte",
            percentiles(role),
            f"first content chunk {percentiles(content)}",
        )
    )
    done = offset - 1000 + 200
    middle = None
    while done < requests:
        batch = min(2000, requests - done)
        await load(api, 16, batch, offset)
        offset += batch
        done += batch
        if middle is None and done >= requests // 2:
            middle = rss_mib(pid)
    end_rss = rss_mib(pid)
    rows += await inspector(url)
    rows.append(
        (
            "server RSS: start / warm / half / end",
            f"{start_rss:.0f} / {warm_rss:.0f} / {middle or end_rss:.0f} / {end_rss:.0f} MiB",
            f"after {done:,} requests",
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--mcp-calls", type=int, default=2000, help="0 skips the MCP rows")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "trifecta.toml")
        with open(config, "w") as handle:
            handle.write("[limits]\nmax_subtasks = 128\n")  # the inspector's 100-part run
        env = {**os.environ, "TRIFECTA_DATA_DIR": tmp}
        for variable in ("OPENAI_BASE_URL", "TRIFECTA_MODEL", "OPENAI_API_KEY"):
            env.pop(variable, None)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trifecta.cli",
                "serve",
                "--port",
                str(port),
                "--config",
                config,
            ],
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{url}/healthz", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.1)
            rows = asyncio.run(run(url, server.pid, args.requests))
        finally:
            server.terminate()
            server.wait(timeout=30)
        if args.mcp_calls:
            rows += asyncio.run(mcp_rows(args.mcp_calls, tmp))
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
