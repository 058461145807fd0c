"""`langgraph dev` (langgraph-cli[inmem]) loads the graph from `langgraph.json`, and the
LangGraph SDK runs, streams and continues a conversation on it, over loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client

from tests.net import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
OFFLINE = {  # nothing leaves the machine: no tracing, analytics or version check
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
}


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("langgraph-dev")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_"))}
    command = [
        str(Path(sys.executable).with_name("langgraph")), "dev", "--config",
        str(ROOT / "langgraph.json"), "--host", "127.0.0.1", "--port", str(port),
        "--no-browser", "--no-reload",
    ]  # fmt: skip
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        command, cwd=home, env={**env, **OFFLINE}, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ok", seconds=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


async def test_langgraph_dev_runs_streams_and_continues_a_thread(dev_server: str) -> None:
    client = get_client(url=dev_server)
    (assistant,) = await client.assistants.search(graph_id="trifecta")
    thread = await client.threads.create()
    events: list[str] = []
    values: dict[str, Any] = {}
    async for part in client.runs.stream(
        thread["thread_id"],
        "trifecta",
        input={"request": "What is 6*7?"},
        stream_mode=["custom", "values"],
    ):
        if part.event == "custom":
            events.append(part.data["event"])
        elif part.event == "values":
            values = part.data
    assert events[0] == "planned" and events[-1] == "merged"
    assert values["results"]["t1"]["answer"] == "42"
    assert values["results"]["t1"]["status"] == "verified"
    follow = await client.runs.wait(
        thread["thread_id"],
        "trifecta",
        input={"messages": [{"role": "user", "content": "and what is that times 3?"}]},
    )
    assert isinstance(follow, dict) and follow["results"]["t1"]["answer"] == "126"
    said = follow["messages"][-1]
    assert said["type"] == "ai" and said["response_metadata"]["trifecta"]["ok"] is True
    schemas = await client.assistants.get_schemas(assistant["assistant_id"])
    assert {"request", "messages"} <= set(schemas["input_schema"]["properties"])
    assert {"answer", "messages", "results"} <= set(schemas["output_schema"]["properties"])
    assert set(schemas["context_schema"]["properties"]) == {"budget", "sensitive"}
