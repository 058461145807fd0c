"""Bad input on the command line: exit 2, one line naming the problem, nothing created."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "trifecta.cli"]


def _cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def _refused(done: subprocess.CompletedProcess[str], fragment: str) -> None:
    """Exit 2 with exactly one line on stderr, naming the problem, and no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert fragment in lines[0], lines[0]


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """An empty working folder: the commands must leave it empty."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://x", "unsupported checkpoint URL 'ftp://x'"),
        ("bogus", "unsupported checkpoint URL 'bogus'"),
        ("sqlite:///{tmp}/nowhere/dir/x.sqlite", "/nowhere/dir does not exist"),
        ("sqlite:///{tmp}/cwd", "is a folder, not a SQLite file"),
        ("sqlite:///{tmp}/plain.txt", "plain.txt is not a SQLite database"),
        (
            "postgresql://postgres:secret@127.0.0.1:1/test",
            "checkpoint database postgresql://postgres:***@127.0.0.1:1/test cannot be reached",
        ),
    ],
    ids=["ftp", "bare word", "missing folder", "folder", "not sqlite", "postgres port 1"],
)
def test_a_bad_checkpoint_url_creates_nothing(
    tmp_path: Path, cwd: Path, url: str, fragment: str
) -> None:
    (tmp_path / "plain.txt").write_text("not a database\n")
    data = tmp_path / "data"
    url = url.format(tmp=tmp_path)
    done = _cli("run", "What is 2+2?", "--checkpoint", url, "--data-dir", str(data), cwd=cwd)
    _refused(done, fragment)
    assert "secret" not in done.stderr
    assert list(cwd.iterdir()) == [] and not data.exists()
    assert not (tmp_path / "nowhere").exists()
    assert (tmp_path / "plain.txt").read_text() == "not a database\n"


def test_the_same_urls_are_refused_by_serve_and_resume(tmp_path: Path, cwd: Path) -> None:
    _refused(_cli("serve", "--checkpoint", "ftp://x", cwd=cwd), "unsupported checkpoint URL")
    _refused(_cli("resume", "t-1", "--checkpoint", "bogus", cwd=cwd), "unsupported checkpoint")
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("shop.sqlite", "shop.sqlite is not a SQLite database"),
        ("a[/red]b/shop.sqlite", "a[/red]b/shop.sqlite is not a SQLite database"),
        ("a[/red]b/missing.sqlite", "no SQLite database at"),
    ],
    ids=["not a database", "markup in the path", "missing, markup in the path"],
)
@pytest.mark.parametrize("command", ["run", "check"])
def test_a_bad_sqlite_database_is_named(
    tmp_path: Path, cwd: Path, name: str, fragment: str, command: str
) -> None:
    for folder in (tmp_path, tmp_path / "a[/red]b"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "shop.sqlite").write_text("orders: 4\n")
    url = f"sqlite:///{tmp_path / name}"
    if command == "run":
        done = _cli("run", "How many orders?", "--db", url, "--data-dir", str(tmp_path), cwd=cwd)
    else:
        done = _cli("check", "sql", "--db", url, cwd=cwd)
    _refused(done, fragment)


@pytest.mark.parametrize(
    ("target", "fragment"),
    [("nothing-here", "--docs: no folder at"), ("notes.md", "notes.md is a file")],
    ids=["missing", "a file"],
)
def test_docs_must_be_a_folder(tmp_path: Path, cwd: Path, target: str, fragment: str) -> None:
    (tmp_path / "notes.md").write_text("# Notes\n\nThe refund window is 30 days.\n")
    docs = str(tmp_path / target)
    done = _cli("run", "What is the refund window?", "--docs", docs, cwd=cwd)
    _refused(done, fragment)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--port", "99999"], "--port 99999 is not a TCP port (0-65535)"),
        (["--port", "-1"], "--port -1 is not a TCP port"),
        (["--host", "no-such-host.invalid"], "cannot listen on no-such-host.invalid:8000"),
    ],
    ids=["port too large", "negative port", "unknown host"],
)
def test_serve_refuses_an_address_it_cannot_listen_on(
    cwd: Path, args: list[str], fragment: str
) -> None:
    _refused(_cli("serve", *args, "--checkpoint", "memory", cwd=cwd), fragment)


def test_serve_refuses_a_port_in_use(cwd: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        done = _cli("serve", "--port", port, "--checkpoint", "memory", cwd=cwd)
    _refused(done, f"cannot listen on 127.0.0.1:{port}: Address already in use")


def test_a_model_without_an_api_key_is_bad_input(tmp_path: Path, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    done = subprocess.run(
        [*CLI, "run", "What is 2+2?", "--model", "gpt-4o-mini", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=cwd, env=env,
    )  # fmt: skip
    _refused(done, "model 'gpt-4o-mini' has no API key for OpenAI's endpoint: set OPENAI_API_KEY")


def _docs_with_escape(tmp_path: Path) -> Path:
    """A docs folder holding one document and a symlink to a file outside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("root:x:0:0:the zebra password is hunter2\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text("# Returns\n\nThe refund window is 30 days.\n")
    (docs / "passwd.txt").symlink_to(outside / "secret.txt")
    (docs / "inside.md").symlink_to(docs / "returns.md")  # stays inside: kept
    return docs


def _search(store: Path, cwd: Path) -> list[dict[str, str]]:
    done = _cli("search", "zebra password", "--store", str(store), "--json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    hits: list[dict[str, str]] = json.loads(done.stdout)
    return hits


def test_ingest_skips_symlinks_that_leave_the_folder(tmp_path: Path, cwd: Path) -> None:
    docs, store = _docs_with_escape(tmp_path), tmp_path / "store"
    done = _cli("ingest", str(docs), "--store", str(store), cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert f"{docs / 'passwd.txt'}: a symlink leading outside {docs}" in done.stderr
    assert "2 file(s) ingested" in done.stdout and "1 skipped" in done.stdout
    assert all("hunter2" not in hit["text"] for hit in _search(store, cwd))
    allowed = _cli("ingest", str(docs), "--store", str(store), "--follow-symlinks", cwd=cwd)
    assert allowed.returncode == 0 and "1 file(s) ingested" in allowed.stdout
    assert any("hunter2" in hit["text"] for hit in _search(store, cwd))


def test_run_with_docs_reports_the_skipped_symlink(tmp_path: Path, cwd: Path) -> None:
    docs = _docs_with_escape(tmp_path)
    done = _cli(
        "run", "What is the zebra password?", "--docs", str(docs), "--data-dir",
        str(tmp_path / "data"), "--json", cwd=cwd,
    )  # fmt: skip
    assert f"skipped {docs / 'passwd.txt'}: a symlink leading outside" in done.stderr
    assert "hunter2" not in done.stdout


def test_an_audit_log_that_is_a_folder_is_bad_input(tmp_path: Path, cwd: Path) -> None:
    done = _cli("run", "What is 2+2?", "--audit-log", str(tmp_path), "--checkpoint", "memory",
                cwd=cwd)  # fmt: skip
    _refused(done, f"--audit-log {tmp_path} is a folder, not a file")


def test_eval_names_a_missing_suite_file_holding_markup(tmp_path: Path, cwd: Path) -> None:
    suite = tmp_path / "a[/red]b" / "questions.jsonl"
    done = _cli("eval", str(suite), cwd=cwd)
    _refused(done, "a[/red]b/questions.jsonl")
