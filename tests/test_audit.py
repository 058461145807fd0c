"""The hash-chained audit log: what a run records, and tamper detection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fakes import by_schema, merger_text, plan, upper_specialist
from tests.net import PG_URL
from trifecta import Trifecta
from trifecta.agents import ModelMerger, ModelPlanner
from trifecta.audit import AuditKey, AuditLog, inspect_audit, sha256_text, verify_audit
from trifecta.testing import forge_audit

CLI = [sys.executable, "-m", "trifecta.cli"]


async def _runs(
    path: Path,
    requests: Sequence[str] = ("first request", "second request"),
    **options: Any,
) -> list[dict[str, Any]]:
    """One audited run per request (seven records each); `options` go to `AuditLog`."""
    model = by_schema(
        {"plan": lambda m, i: plan(("t1", "upper", "secret words")), None: merger_text}
    )
    app = Trifecta(
        [upper_specialist()],
        planner=ModelPlanner(model),
        merger=ModelMerger(model),
        audit=AuditLog(path, **options),
    )
    for request in requests:
        await app.arun(request)
    return _records(path)


def _records(path: Path) -> list[dict[str, Any]]:
    """The log's lines that are JSON objects (garbage lines left out)."""
    out = []
    for line in path.read_text("utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except (ValueError, RecursionError):
            continue
    return [r for r in out if isinstance(r, dict)]


async def test_a_run_records_plan_calls_verdicts_and_totals(tmp_path: Path) -> None:
    records = await _runs(tmp_path / "audit.jsonl")
    kinds = [r["kind"] for r in records]
    assert kinds == ["run_start", "call", "plan", "route", "verdict", "call", "run_end"] * 2
    assert [r["seq"] for r in records] == list(range(14)) and verify_audit(
        tmp_path / "audit.jsonl"
    ) == []
    start, call, _, route, verdict, _, end = records[:7]
    assert (route["subtask"], route["solver"]) == ("t1", "upper")
    assert (route["tier"], route["code"], route["reason"]) == (0, "first", "cheapest tier first")
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
    records = await _runs(tmp_path / "audit.jsonl", store_content=True)
    assert records[0]["request"] == "first request"
    assert "first request" in str(records[1]["prompt"]) and records[1]["response"]


def _rewrite(path: Path, change: object) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(change(lines)) + "\n")  # type: ignore[operator]


def _edit(lines: list[str]) -> list[str]:
    record = json.loads(lines[3])
    record["status"] = "rejected"
    return [*lines[:3], json.dumps(record, sort_keys=True), *lines[4:]]


def _verify_command(
    path: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``trifecta audit verify PATH [OPTIONS]`` in a subprocess (`env` added to ours)."""
    return subprocess.run(
        [*CLI, "audit", "verify", str(path), *options],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, **(env or {})},
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
    await _runs(path)
    _rewrite(path, change)
    problems = verify_audit(path)
    assert any(expected in p for p in problems), problems
    done = _verify_command(path)
    assert done.returncode == 1 and expected in done.stdout


async def test_verify_command_on_an_intact_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    await _runs(path)
    done = _verify_command(path)
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("intact: 14 record(s), 2 run(s)\n")
    assert "NOT authenticated: the records were written without a key" in done.stdout


KEY = AuditKey(bytes(range(32)))
Records = list[dict[str, Any]]


def _run_ids(records: Records) -> list[str]:
    return list(dict.fromkeys(str(r["run"]) for r in records))


def _edit_verdict(records: Records) -> Records:
    next(r for r in records if r["kind"] == "verdict")["status"] = "rejected"
    return records


def _delete_run(records: Records) -> Records:
    middle = _run_ids(records)[1]
    return [r for r in records if r["run"] != middle]


def _insert_run(records: Records) -> Records:
    first = _run_ids(records)[0]
    copied = [{**r, "run": "f" * 32} for r in records if r["run"] == first]
    return [*records[:7], *copied, *records[7:]]


def _swap_runs(records: Records) -> Records:
    return [*records[7:14], *records[:7], *records[14:]]


def _drop_last_run(records: Records) -> Records:
    return records[:-7]


FORGERIES = [_edit_verdict, _delete_run, _insert_run, _swap_runs, _drop_last_run]
FORGERY_IDS = ["edit", "delete run", "insert run", "swap runs", "truncate last run"]


@pytest.mark.parametrize("forgery", FORGERIES, ids=FORGERY_IDS)
@pytest.mark.parametrize("keep_macs", [False, True], ids=["macs dropped", "macs kept"])
async def test_a_rehashed_forgery_is_found_with_the_key(
    tmp_path: Path, forgery: Any, keep_macs: bool
) -> None:
    path = tmp_path / "audit.jsonl"
    await _runs(path, ("one", "two", "three"), key=KEY)
    assert inspect_audit(path, key=KEY).ok
    forge_audit(path, forgery, keep_macs=keep_macs)
    report = inspect_audit(path, key=KEY)
    expected = "fails its HMAC" if keep_macs else "is not authenticated (no HMAC)"
    if keep_macs and forgery is _drop_last_run:  # the kept records are the genuine ones
        expected = "the head is not authenticated (no HMAC)"
    assert any(expected in p for p in report.problems), report.problems
    assert any("head" in p and "HMAC" in p for p in report.problems), report.problems
    done = _verify_command(path, "--key-env", "AUDIT_KEY", env={"AUDIT_KEY": KEY.secret.hex()})
    assert done.returncode == 1 and expected in done.stdout, done.stdout


@pytest.mark.parametrize("forgery", FORGERIES, ids=FORGERY_IDS)
async def test_without_the_key_verify_says_what_it_did_not_prove(
    tmp_path: Path, forgery: Any
) -> None:
    path = tmp_path / "audit.jsonl"
    await _runs(path, ("one", "two", "three"))
    forge_audit(path, forgery)
    report = inspect_audit(path)
    assert report.ok  # a plain hash chain cannot tell a careful rewrite ...
    assert "NOT authenticated" in report.summary()[1]  # ... and says so
    assert "re-hashes the chain" in report.summary()[1]


async def test_dropping_the_macs_shows_even_without_the_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    await _runs(path, key=KEY)
    forge_audit(path, lambda records: records[:7] + [
        {k: v for k, v in r.items() if k not in ("mac", "key_id")} for r in records[7:]
    ], keep_macs=True)  # fmt: skip
    problems = verify_audit(path)
    assert any("record 7 has no HMAC while earlier records do" in p for p in problems), problems


async def test_truncating_whole_runs_is_found_by_the_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    await _runs(path, ("one", "two", "three"))
    _rewrite(path, lambda lines: lines[:-7])
    problems = verify_audit(path)
    assert problems == [
        "head file audit.jsonl.head names record 20 but the log ends at record 13: "
        "records were removed from the end (truncated)"
    ]
    done = _verify_command(path)
    assert done.returncode == 1 and "truncated" in done.stdout


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_the_checkpoint_database_head_finds_a_forged_truncation(
    tmp_path: Path, database: str
) -> None:
    url = PG_URL if database == "postgres" else f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"
    path = tmp_path / "audit.jsonl"
    with _forget_head(url, path):
        await _check_database_head(url, path)


@contextmanager
def _forget_head(url: str, path: Path) -> Iterator[None]:
    """Remove the log's head row from a PostgreSQL database afterwards."""
    yield
    if url.startswith("postgresql://"):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM trifecta_audit_head WHERE log = %s", (str(path.resolve()),))


async def _check_database_head(url: str, path: Path) -> None:
    await _runs(path, ("one", "two", "three"), head_db=url)
    assert inspect_audit(path, head_db=url).heads == ("sidecar file", "checkpoint database")
    forge_audit(path, _drop_last_run)  # log and sidecar rewritten; the database is not
    assert verify_audit(path) == []
    problems = verify_audit(path, head_db=url)
    assert problems == [
        "checkpoint database head names record 20 but the log ends at record 13: "
        "records were removed from the end (truncated)"
    ]
    done = _verify_command(path, "--checkpoint", url)
    assert done.returncode == 1 and "checkpoint database head names record 20" in done.stdout


_WORKER = """
import sys
from trifecta.audit import AuditLog
log, name = AuditLog(sys.argv[1]), sys.argv[2]
print("ready", flush=True)
sys.stdin.readline()
log.write("run_start", name)
for n in range(int(sys.argv[3])):
    log.write("call", name, n=n)
log.write("run_end", name)
"""


def test_processes_appending_at_once_keep_one_chain(tmp_path: Path) -> None:
    path, writers, each = tmp_path / "audit.jsonl", 4, 60
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), f"w{n}", str(each)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(writers)
    ]
    for proc in procs:  # every writer has opened the log before any writes
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:
        proc.communicate("go\n", timeout=120)
        assert proc.returncode == 0
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["seq"] for r in records] == list(range(writers * (each + 2)))
    assert verify_audit(path) == []


async def test_a_torn_tail_does_not_stop_later_runs(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    first_run = (await _runs(path, ("one",)))[0]["run"]
    text = path.read_text()
    path.write_text(text[: len(text) - 30])  # the last record, cut mid-line
    done = subprocess.run(
        [*CLI, "run", "What is 2+2?", "--audit-log", str(path), "--checkpoint", "memory"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    problems = verify_audit(path)
    assert problems[0] == "line 7: not a JSON record (a torn write, or garbage)"
    assert problems[1].startswith("line 8: the writer started a new segment at record 6: ")
    assert "after record 5 are not a record (a torn write, or garbage; sha256" in problems[1]
    assert problems[2:] == [f"line 1: run {first_run} has no run_end record (truncated?)"]
    records = [json.loads(line) for i, line in enumerate(path.read_text().splitlines()) if i != 6]
    assert [r["kind"] for r in records[6:]][:2] == ["segment", "run_start"]
    assert records[-1]["kind"] == "run_end" and records[-1]["seq"] == len(records) - 1


GARBAGE = [
    b"",
    b"not json at all",
    b"\xff\xfe\x00binary",
    b"[]",
    b'{"seq": "x", "hash": 1}',
    b"[" * 100_000,
    b'{"seq": 3}',
]


async def test_verify_reports_garbage_lines_and_never_raises(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    await _runs(path, ("one",))
    with path.open("ab") as handle:
        handle.write(b"\n".join(GARBAGE) + b"\n")
    problems = verify_audit(path)
    garbage = [p for p in problems if "(a torn write, or garbage)" in p]
    assert [p.split(":")[0] for p in garbage] == [f"line {n}" for n in range(8, 15)]
    assert garbage[0] == "line 8: an empty line (a torn write, or garbage)"
    done = _verify_command(path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "line 13: not a JSON record" in done.stdout
    await _runs(path, ("two",))  # a later run still appends, in a new segment
    assert "line 15: the writer started a new segment at record 7" in "\n".join(verify_audit(path))


def test_keygen_writes_a_private_key_and_never_overwrites(tmp_path: Path) -> None:
    key = tmp_path / "audit.key"
    done = subprocess.run([*CLI, "audit", "keygen", str(key)], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0 and "written to" in done.stdout
    text = key.read_text()
    assert len(bytes.fromhex(text.strip())) == 32 and key.stat().st_mode & 0o777 == 0o600
    again = subprocess.run([*CLI, "audit", "keygen", str(key)], capture_output=True, text=True,
                           timeout=60, check=False)  # fmt: skip
    assert again.returncode == 2 and "exists; a key is never overwritten" in again.stderr
    assert key.read_text() == text


def test_a_run_with_a_configured_key_is_authenticated(tmp_path: Path) -> None:
    key, log, config = tmp_path / "audit.key", tmp_path / "audit.jsonl", tmp_path / "t.toml"
    subprocess.run([*CLI, "audit", "keygen", str(key)], check=True, capture_output=True)
    config.write_text(f'audit_key_file = "{key}"\ncheckpoint = "memory"\n')
    run = [*CLI, "run", "What is 2+2?", "--audit-log", str(log), "--config", str(config)]
    assert subprocess.run(run, capture_output=True, timeout=120, check=False).returncode == 0
    done = _verify_command(log, "--config", str(config))
    assert done.returncode == 0, done.stdout
    assert "authenticated: every record's HMAC-SHA256 checks with key" in done.stdout
    unkeyed = _verify_command(log, "--checkpoint", "memory")
    assert unkeyed.returncode == 0 and "the records carry HMACs but no key" in unkeyed.stdout


def test_a_missing_key_is_bad_input_and_nothing_is_logged(tmp_path: Path) -> None:
    config, log = tmp_path / "t.toml", tmp_path / "audit.jsonl"
    config.write_text('audit_key_env = "NO_SUCH_AUDIT_KEY"\ncheckpoint = "memory"\n')
    done = subprocess.run(
        [*CLI, "run", "What is 2+2?", "--audit-log", str(log), "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and not log.exists()
    assert done.stderr.strip() == "error: the audit key variable NO_SUCH_AUDIT_KEY is not set"
