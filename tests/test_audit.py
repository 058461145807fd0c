"""The hash-chained audit log: what a run records, and tamper detection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import by_schema, merger_text, plan, upper_specialist
from trifecta import Trifecta
from trifecta.agents import ModelMerger, ModelPlanner
from trifecta.audit import AuditLog, sha256_text, verify_audit


async def _two_runs(path: Path, store_content: bool = False) -> list[dict[str, object]]:
    model = by_schema(
        {"plan": lambda m, i: plan(("t1", "upper", "secret words")), None: merger_text}
    )
    app = Trifecta(
        [upper_specialist()],
        planner=ModelPlanner(model),
        merger=ModelMerger(model),
        audit=AuditLog(path, store_content=store_content),
    )
    await app.arun("first request")
    await app.arun("second request")
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_a_run_records_plan_calls_verdicts_and_totals(tmp_path: Path) -> None:
    records = await _two_runs(tmp_path / "audit.jsonl")
    kinds = [r["kind"] for r in records]
    assert kinds == ["run_start", "call", "plan", "route", "verdict", "call", "run_end"] * 2
    assert [r["seq"] for r in records] == list(range(14)) and verify_audit(
        tmp_path / "audit.jsonl"
    ) == []
    start, call, _, route, verdict, _, end = records[:7]
    assert (route["subtask"], route["solver"]) == ("t1", "upper")
    assert route["reason"] == "tier 0: cheapest tier first"
    assert start["request_sha256"] == sha256_text("first request") and "request" not in start
    assert call["model"] == call["served_model"] == "router"
    assert len(str(call["prompt_sha256"])) == 64 and "prompt" not in call
    assert (verdict["subtask"], verdict["status"], verdict["tier"]) == ("t1", "verified", 0)
    assert end["report"]["model_calls"] == 2  # type: ignore[index]
    for record in records:
        stored = json.dumps(record)
        assert "first request" not in stored and "second request" not in stored
        assert not {"request", "prompt", "response"} & set(record)
        if record["kind"] != "plan":  # the plan is stored; model texts are not
            assert "secret words" not in stored, record


async def test_content_is_stored_only_when_configured(tmp_path: Path) -> None:
    records = await _two_runs(tmp_path / "audit.jsonl", store_content=True)
    assert records[0]["request"] == "first request"
    assert "first request" in str(records[1]["prompt"]) and records[1]["response"]


def _rewrite(path: Path, change: object) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(change(lines)) + "\n")  # type: ignore[operator]


def _edit(lines: list[str]) -> list[str]:
    record = json.loads(lines[3])
    record["status"] = "rejected"
    return [*lines[:3], json.dumps(record, sort_keys=True), *lines[4:]]


def _verify_command(path: Path) -> subprocess.CompletedProcess[str]:
    """``trifecta audit verify PATH`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "trifecta.cli", "audit", "verify", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_edit, "record 3 was edited"),
        (lambda lines: lines[:4] + lines[5:], "sequence 5 where 4 was expected"),
        (
            lambda lines: [*lines[:3], lines[4], lines[3], *lines[5:]],
            "does not follow the previous record",
        ),
        (lambda lines: lines[:-1], "has no run_end record (truncated?)"),
        (lambda lines: [*lines[:-1], lines[-1][:40]], "not a JSON record"),
    ],
    ids=["edit", "delete", "reorder", "truncate", "torn line"],
)
async def test_tampering_is_detected(tmp_path: Path, change: object, expected: str) -> None:
    path = tmp_path / "audit.jsonl"
    await _two_runs(path)
    _rewrite(path, change)
    problems = verify_audit(path)
    assert any(expected in p for p in problems), problems
    done = _verify_command(path)
    assert done.returncode == 1 and expected in done.stdout


async def test_verify_command_on_an_intact_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    await _two_runs(path)
    done = _verify_command(path)
    assert (done.returncode, done.stdout.strip()) == (0, "intact")
