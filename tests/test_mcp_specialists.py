"""MCP tools as specialists, against a third-party server: the reference time server
(`mcp-server-time` from PyPI, started over stdio; it needs no network)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.mcp_time import verify_conversion
from trifecta import Trifecta
from trifecta.config import ConfigError, McpSpec
from trifecta.specialists import McpEndpoint, McpSolver, Specialist, mcp_specialists

ROOT = Path(__file__).resolve().parents[1]
SERVER = (sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC")
MATCH = (
    r"(?i)convert (?P<time>\d{1,2}:\d{2}) from (?P<source_timezone>[A-Za-z_]+/[A-Za-z_]+)"
    r" to (?P<target_timezone>[A-Za-z_]+/[A-Za-z_]+)"
)
REQUEST = "Convert 14:30 from Europe/London to Asia/Tokyo. What is 2^10 + 3?"


def _config(tmp_path: Path, verify: str | None) -> Path:
    lines = [
        'checkpoint = "memory"',
        "[mcp.time]",
        'command = ["mcp-server-time", "--local-timezone", "UTC"]',  # found beside the Python
        'tools = ["convert_time"]',
        f"match = '{MATCH}'",
        'answer = "target.datetime"',
        'privacy = "local"',
    ]
    if verify:
        lines.append(f'verify = "{verify}"')
    path = tmp_path / "trifecta.toml"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def _run(config: Path, request: str) -> tuple[int, dict[str, object]]:
    command = [sys.executable, "-m", "trifecta.cli", "run", request, "--json", "--config", str(config)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, cwd=ROOT) as process:  # fmt: skip
        try:
            out, err = process.communicate(timeout=90)
        except subprocess.TimeoutExpired:  # show where it hangs: faulthandler dumps on SIGABRT
            process.send_signal(signal.SIGABRT)
            out, err = process.communicate(timeout=30)
            raise AssertionError(f"trifecta run hung; its stacks:\n{err[-6000:]}") from None
    assert process.returncode in (0, 1), err
    return process.returncode, json.loads(out)


def _expected(answer: str) -> str:
    """14:30 in London on the answer's date, in Tokyo (computed here, not by the server)."""
    day = datetime.fromisoformat(answer).astimezone(ZoneInfo("Europe/London")).date()
    london = datetime(day.year, day.month, day.day, 14, 30, tzinfo=ZoneInfo("Europe/London"))
    return london.astimezone(ZoneInfo("Asia/Tokyo")).isoformat(timespec="seconds")


def test_a_third_party_mcp_tool_answers_inside_trifecta_run(tmp_path: Path) -> None:
    code, result = _run(_config(tmp_path, "tests.mcp_time:verify_conversion"), REQUEST)
    subtasks = result["subtasks"]
    assert isinstance(subtasks, list)
    time, math = subtasks
    assert (time["specialist"], time["status"], time["solver"]) == (
        "time.convert_time",
        "verified",
        "mcp:convert_time",
    )
    assert time["answer"] == _expected(time["answer"])
    assert time["answer"] in str(result["answer"]) and "1027" in str(result["answer"])
    assert math["status"] == "verified" and code == 0


def test_without_a_verifier_the_tool_answer_is_flagged_unverifiable(tmp_path: Path) -> None:
    code, result = _run(_config(tmp_path, None), REQUEST)
    subtasks = result["subtasks"]
    assert isinstance(subtasks, list)
    assert subtasks[0]["status"] == "unverifiable" and code == 1
    messages = [e["message"] for e in subtasks[0]["errors"]]
    assert any("no verifier is configured for time.convert_time" in m for m in messages)
    assert "[t1]" in str(result["answer"]).split("Not verified")[1]


def _app(solver: McpSolver) -> Trifecta:
    clock = Specialist("clock", "Converts times.", [solver], verify_conversion, lambda _: 1.0)
    return Trifecta([clock])


async def test_a_wrong_field_of_the_tool_result_is_rejected_by_the_verifier() -> None:
    import re

    wrong = McpSolver(McpEndpoint(SERVER), "convert_time", match=re.compile(MATCH),
                      answer="source.datetime")  # fmt: skip
    result = await _app(wrong).arun("Convert 14:30 from Europe/London to Asia/Tokyo.")
    (row,) = result.subtasks
    assert row["status"] == "rejected" and not result.ok
    assert any("in Asia/Tokyo, not" in e["message"] for e in row["errors"])


async def test_a_tool_error_is_reported_not_accepted() -> None:
    import re

    solver = McpSolver(McpEndpoint(SERVER), "convert_time", match=re.compile(MATCH),
                       answer="target.datetime")  # fmt: skip
    result = await _app(solver).arun("Convert 14:30 from Europe/Nowhere to Asia/Tokyo.")
    (row,) = result.subtasks
    assert row["status"] == "unverifiable" and not result.ok
    assert "Invalid timezone" in " ".join(row["evidence"])


async def test_arguments_given_as_json_reach_the_tool() -> None:
    solver = McpSolver(McpEndpoint(SERVER), "convert_time", answer="target.datetime")
    instruction = json.dumps(
        {"source_timezone": "Europe/London", "time": "14:30", "target_timezone": "Asia/Tokyo"}
    )
    result = await _app(solver).arun(instruction)
    (row,) = result.subtasks
    assert row["status"] == "verified" and row["answer"] == _expected(row["answer"])


async def test_config_entries_are_checked_against_the_server() -> None:
    (spec,) = await mcp_specialists("time", McpSpec(command=SERVER, tools=("convert_time",)))
    assert spec.name == "time.convert_time" and "source_timezone" in spec.description
    assert spec.affinity is None  # no match pattern: only a model planner routes to it
    with pytest.raises(ConfigError, match=r"no tool \['convert'\]"):
        await mcp_specialists("time", McpSpec(command=SERVER, tools=("convert",)))
    with pytest.raises(ConfigError, match="cannot import"):
        await mcp_specialists("time", McpSpec(command=SERVER, verify="tests.nothing:verify"))
    with pytest.raises(ConfigError, match="cannot list the server's tools"):
        await mcp_specialists("gone", McpSpec(command=(sys.executable, "-c", "pass"), timeout_s=10))


FORK_RACE = """
import subprocess, sys, threading, anyio
from trifecta.sandbox import WorkerPool
from trifecta.specialists import McpEndpoint

real, pool, forkers = subprocess._fork_exec, WorkerPool(1), []

def fork_exec(*args):  # a worker is forked on another thread while the server starts
    forkers.append(threading.Thread(target=pool.run, args=(abs, -1)))
    forkers[-1].start()
    forkers[-1].join(0.5)  # forked, or waiting for FORK_LOCK, which this start holds
    return real(*args)

subprocess._fork_exec = fork_exec
tools = anyio.run(McpEndpoint(tuple(sys.argv[1:])).list_tools)
assert any(t.name == "convert_time" for t in tools)
for forker in forkers:
    forker.join()
pool.close()
print("ok")
"""


def test_workers_forked_meanwhile_do_not_stall_starting_a_server() -> None:
    """A sandbox worker forked while a stdio server starts would inherit its exec-status
    pipe and stall the start until the worker exits (`FORK_LOCK` prevents it)."""
    command = [sys.executable, "-c", FORK_RACE, *SERVER]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise AssertionError("starting the server stalled behind a forked worker") from None
    assert done.stdout.strip() == "ok", done.stderr[-3000:]
