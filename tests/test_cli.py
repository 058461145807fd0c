"""The command line, run as a real subprocess, and bad input."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import SHOP_SQL
from trifecta import Trifecta
from trifecta.specialists import default_specialists

CLI = [sys.executable, "-m", "trifecta.cli"]


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, input=stdin, check=False
    )


def test_demo_runs_offline_and_verifies_all_three(tmp_path: Path) -> None:
    done = run_cli("demo", "--data-dir", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [(s["specialist"], s["status"], s["answer"]) for s in out["subtasks"]] == [
        ("math", "verified", "9"),
        ("sql", "checked", "4"),
        (
            "rag",
            "verified",
            "The refund window is 30 days from the date of delivery. [returns.md#1]",
        ),
    ]
    assert set(out["report"]) >= {"tokens_in", "tokens_out", "cost_usd", "wall_s"}
    assert {"id", "specialist", "instruction", "status", "answer", "evidence", "tier"} <= set(
        out["subtasks"][0]
    )
    assert (tmp_path / "checkpoints.sqlite").is_file()


def test_run_prints_answer_table_and_progress(tmp_path: Path, demo_data: tuple[str, Path]) -> None:
    db, _ = demo_data
    done = run_cli(
        "run",
        "What is 15% of 80? What is the total of orders?",
        "--db",
        db,
        "--data-dir",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert "What is 15% of 80? → 12 [t1: verified]" in done.stdout
    assert "What is the total of orders? → 1095.98 [t2: checked]" in done.stdout
    assert "specialist" in done.stdout and "0 (rules)" in done.stdout
    assert "planned 2 subtask(s)" in done.stderr


@pytest.mark.parametrize("command", [[], ["run"], ["demo"], ["resume"]])
def test_every_command_has_help(command: list[str]) -> None:
    done = run_cli(*command, "--help")
    assert done.returncode == 0 and "usage: trifecta" in done.stdout


@pytest.mark.parametrize(
    ("request_text", "message"),
    [
        ("", "the request is empty"),
        ("   ", "the request is empty"),
        ("x" * 1_000_001, "the limit is 100,000"),
    ],
)
def test_bad_requests_are_clear_errors(tmp_path: Path, request_text: str, message: str) -> None:
    done = run_cli("run", "-", "--data-dir", str(tmp_path), stdin=request_text)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_unroutable_request_in_another_language_explains_itself(tmp_path: Path) -> None:
    done = run_cli(
        "run",
        "Combien de commandes dépassent cent dollars ?",
        "--data-dir",
        str(tmp_path),
        "--json",
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    out = json.loads(done.stdout)
    assert "no specialist recognises" in out["error"] and "--model" in out["error"]


def test_request_with_too_many_parts_is_capped(tmp_path: Path) -> None:
    request = " ".join("2+2." for _ in range(10_000))
    done = run_cli("run", "-", "--data-dir", str(tmp_path), "--json", stdin=request)
    out = json.loads(done.stdout)
    assert "10000 parts; the limit is 64" in out["error"]


def test_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    done = run_cli("run", "How many orders?", "--db", "oracle://x", "--data-dir", str(tmp_path))
    assert done.returncode == 2 and "unsupported database URL scheme 'oracle'" in done.stderr


async def test_a_reused_thread_is_the_conversations_next_turn(
    demo_data: tuple[str, Path],
) -> None:
    db, docs = demo_data
    app = Trifecta(default_specialists(db=db, docs=docs))
    first = await app.arun("What is 2+2?", thread_id="t-1")
    second = await app.arun("What is 3+3?", thread_id="t-1")
    assert [s["answer"] for s in first.subtasks] == ["4"]
    assert [s["answer"] for s in second.subtasks] == ["6"]  # this turn's subtasks only
    assert second.report["checks"] == len([e for e in second.ledger if e["kind"] == "check"])
    state = await app.state("t-1")
    assert state is not None and state.answer == second.answer


def _shop(tmp_path: Path) -> str:
    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(SHOP_SQL)
    return f"sqlite:///{db}"


@pytest.mark.parametrize(
    ("answer", "status", "code"), [("y", "checked", 0), ("n", "unverifiable", 1)]
)
def test_run_approve_asks_on_the_terminal(
    tmp_path: Path, answer: str, status: str, code: int
) -> None:
    done = run_cli(
        "run", "How many customers are there?", "--db", _shop(tmp_path), "--approve",
        "--data-dir", str(tmp_path), "--json", stdin=f"{answer}\n",
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    assert (
        "Run this query on the sqlite database?" in done.stderr and "approve? [y/N]" in done.stdout
    )
    out = json.loads(done.stdout[done.stdout.index("{") :])
    assert [s["status"] for s in out["subtasks"]] == [status]
    assert out["interrupts"] == [] and not out["pending"]


def test_a_paused_run_is_answered_with_resume(tmp_path: Path) -> None:
    (tmp_path / "trifecta.toml").write_text(f'approve = ["sql"]\ndb = "{_shop(tmp_path)}"\n')
    common = ["--config", str(tmp_path / "trifecta.toml"), "--data-dir", str(tmp_path)]
    paused = run_cli("run", "How many customers are there?", "--thread", "p1", *common)
    assert paused.returncode == 1
    assert "answer with: trifecta resume p1 --answer yes|no" in paused.stderr
    done = run_cli("resume", "p1", "--answer", "yes", "--json", *common)
    assert done.returncode == 0, done.stderr
    assert [s["answer"] for s in json.loads(done.stdout)["subtasks"]] == ["3"]
