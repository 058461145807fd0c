"""`trifecta mcp` through the official MCP client, over stdio and streamable HTTP."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.net import free_port
from trifecta.specialists.rag import DocumentStore

KEY = "mcp-test-key"
TOOLS = {"run", "check_math", "check_sql", "search"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A config naming the demo shop database and an ingested store; the database file."""
    from trifecta.demo import build_demo_data

    root = tmp_path_factory.mktemp("mcp")
    db_url, docs = build_demo_data(root)
    DocumentStore(root / "store", "handbook").ingest([docs])
    config = root / "mcp.toml"
    config.write_text(
        f'checkpoint = "memory"\n[databases]\nshop = "{db_url}"\n'
        f'[stores]\ndocs = "{root / "store"}"\n',
        "utf-8",
    )
    return config, Path(db_url.removeprefix("sqlite:///"))


def _text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def _ok(session: ClientSession, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, _text(result)
    assert result.structured_content is not None
    assert json.loads(_text(result)) == result.structured_content
    return dict(result.structured_content)


async def _error(session: ClientSession, tool: str, arguments: dict[str, Any]) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result
    return _text(result)


async def exercise(session: ClientSession, db_file: Path) -> None:
    """List and call every tool and resource, then the bad inputs."""
    await session.initialize()
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.input_schema["type"] == "object" and tool.input_schema["properties"]
        assert tool.output_schema and tool.description
    assert tools["check_sql"].input_schema["required"] == ["database", "sql"]

    math = await _ok(
        session,
        "check_math",
        {
            "claims": [
                {"id": "a", "kind": "integral", "expr": "x^2", "var": "x", "lower": "0",
                 "upper": "3", "answer": "9"},
                {"id": "b", "kind": "value", "expr": "2^10", "answer": "1000"},
            ]
        },
    )  # fmt: skip
    assert [(v["id"], v["status"]) for v in math["verdicts"]] == [
        ("a", "verified"),
        ("b", "rejected"),
    ]

    sql = await _ok(
        session,
        "check_sql",
        {"database": "shop", "sql": "SELECT COUNT(*) FROM orders WHERE total > 100"},
    )
    assert (sql["status"], sql["rows"], sql["columns"]) == ("checked", [[4]], ["COUNT(*)"])

    hits = (await _ok(session, "search", {"store": "docs", "collection": "handbook",
                                          "query": "refund window", "k": 2}))["hits"]  # fmt: skip
    assert len(hits) == 2 and Path(hits[0]["source"]).name == "returns.md"
    assert "30 days" in hits[0]["text"]

    run = await _ok(session, "run", {"request": "Integrate x^2 from 0 to 3. What is 2^10 + 3?"})
    assert run["ok"] is True and "9" in run["answer"] and "1027" in run["answer"]
    assert [(s["status"], s["answer"]) for s in run["subtasks"]] == [
        ("verified", "9"),
        ("verified", "1027"),
    ]
    assert run["subtasks"][0]["evidence"] and run["report"]["checks"] == 2

    resources = {str(r.uri) for r in (await session.list_resources()).resources}
    assert resources == {"trifecta://databases/shop", "trifecta://stores/docs/handbook"}
    schema = (await session.read_resource("trifecta://databases/shop")).contents[0]
    tables = json.loads(getattr(schema, "text", ""))["tables"]
    assert "orders" in tables and "total" in tables["orders"]
    assert str(db_file) not in getattr(schema, "text", "")
    store = (await session.read_resource("trifecta://stores/docs/handbook")).contents[0]
    info = json.loads(getattr(store, "text", ""))
    assert info["chunks"] > 0 and any(s.endswith("returns.md") for s in info["sources"])

    await bad_arguments(session, db_file)


async def bad_arguments(session: ClientSession, db_file: Path) -> None:
    """Wrong arguments and unknown aliases are tool errors naming the problem; a query
    that writes is a rejected verdict and writes nothing; the server keeps answering."""
    assert "claims" in await _error(session, "check_math", {"claims": "2+2=4"})
    assert "kind" in await _error(
        session, "check_math", {"claims": [{"kind": "guess", "expr": "1", "answer": "1"}]}
    )
    assert "max_rows" in await _error(
        session, "check_sql", {"database": "shop", "sql": "SELECT 1", "max_rows": 0}
    )
    unknown = await _error(session, "check_sql", {"database": "crm", "sql": "SELECT 1"})
    assert "unknown database 'crm'" in unknown and "known: shop" in unknown
    by_url = await _error(
        session, "check_sql", {"database": f"sqlite:///{db_file}", "sql": "SELECT 1"}
    )
    assert "unknown database" in by_url
    write = await _ok(session, "check_sql", {"database": "shop", "sql": "DELETE FROM orders"})
    assert write["status"] == "rejected" and write["errors"][0]["rule"] == "read_only"
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] > 0
    missing = await _error(
        session, "search", {"store": "docs", "collection": "nothing", "query": "refund"}
    )
    assert "unknown collection of store 'docs' 'nothing'" in missing and "handbook" in missing
    assert "unknown store" in await _error(
        session, "search", {"store": "/etc", "collection": "handbook", "query": "refund"}
    )
    assert "request" in await _error(session, "run", {"request": ""})
    math = await _ok(
        session, "check_math", {"claims": [{"kind": "value", "expr": "1/0", "answer": "0"}]}
    )
    assert math["verdicts"][0]["status"] != "verified"


async def test_stdio_lists_and_calls_every_tool(setup: tuple[Path, Path]) -> None:
    config, db_file = setup
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "trifecta.cli", "mcp", "--config", str(config)],
        env={**os.environ},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await exercise(session, db_file)


@pytest.fixture(scope="module")
def http_server(setup: tuple[Path, Path]) -> Iterator[str]:
    """`trifecta mcp --transport http` on 127.0.0.1 with an API key."""
    config, _ = setup
    port = free_port()
    command = [sys.executable, "-m", "trifecta.cli", "mcp", "--transport", "http",
               "--port", str(port), "--config", str(config)]  # fmt: skip
    env = {**os.environ, "TRIFECTA_API_KEYS": KEY}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited: {process.stderr.read() if process.stderr else ''!r}"
            )
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"port {port} did not open within {seconds:g}s")


async def test_http_lists_and_calls_every_tool(http_server: str, setup: tuple[Path, Path]) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(http_server, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await exercise(session, setup[1])


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", f"Basic {KEY}", f"Bearer {KEY}x"])
async def test_http_refuses_a_wrong_or_missing_key(http_server: str, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        raw = await http.post(
            http_server,
            json=initialize,
            headers={"Accept": "application/json, text/event-stream"},
        )
        assert raw.status_code == 401 and "API key" in raw.text
        with pytest.raises(Exception) as refused:
            async with (
                streamable_http_client(http_server, http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
        assert any(isinstance(e, MCPError) for e in _leaves(refused.value))


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


async def test_a_tool_of_an_http_mcp_server_is_a_specialist(http_server: str) -> None:
    """`[mcp.<name>]` with a URL and a bearer key: trifecta's own check_math as a tier."""
    from trifecta import Trifecta, Verdict
    from trifecta.config import ConfigError, McpSpec
    from trifecta.specialists import Candidate, Job, mcp_specialists

    def all_verified(job: Job, candidate: Candidate) -> Verdict:
        verdicts = (candidate.payload["structured"] or {}).get("verdicts", [])
        ok = bool(verdicts) and all(v["status"] == "verified" for v in verdicts)
        return Verdict("checked" if ok else "rejected", "check_math verdicts")

    spec = McpSpec(url=http_server, api_key_env="MCP_KEY", tools=("check_math",))
    (specialist,) = await mcp_specialists("checker", spec, env={"MCP_KEY": KEY})
    app = Trifecta([replace(specialist, verify=all_verified, affinity=lambda _: 1.0)])
    claims = {"claims": [{"kind": "value", "expr": "6*7", "answer": "42"}]}
    (row,) = (await app.arun(json.dumps(claims))).subtasks
    assert (row["specialist"], row["status"]) == ("checker.check_math", "checked")
    wrong = {"claims": [{"kind": "value", "expr": "6*7", "answer": "41"}]}
    (row,) = (await app.arun(json.dumps(wrong))).subtasks
    assert row["status"] == "rejected"
    with pytest.raises(ConfigError, match="cannot list the server's tools"):
        await mcp_specialists("checker", spec, env={"MCP_KEY": "wrong"})


def test_mcp_refuses_to_start_on_an_alias_that_does_not_open(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(f'[databases]\nshop = "sqlite:///{tmp_path}/missing.sqlite"\n', "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "trifecta.cli", "mcp", "--config", str(config)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2 and "databases.shop" in done.stderr and not done.stdout
