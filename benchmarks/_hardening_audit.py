"""Hardening figures for the audit log and the command line: every attack is run for real
(tampering with a log written by real runs; each bad input as a `trifecta` subprocess)
and counted as contained or not.

    audit_rows() -> [("audit tampering", tried, contained)]
    cli_rows()   -> [("CLI bad input", tried, contained)]

Run directly, it prints each attack and its outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trifecta import Trifecta
from trifecta.audit import AuditKey, AuditLog, inspect_audit
from trifecta.specialists import default_specialists
from trifecta.testing import forge_audit

__all__ = ["audit_outcomes", "audit_rows", "cli_outcomes", "cli_rows"]

Row = tuple[str, int, int]
Records = list[dict[str, Any]]
KEY = AuditKey(bytes(range(32)))
OTHER_KEY = AuditKey(bytes(range(1, 33)))
CLI = [sys.executable, "-m", "trifecta.cli"]


class _Log:
    """A keyed log of three real runs, its sidecar head and checkpoint-database head."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "audit.jsonl"
        self.db = f"sqlite:///{folder / 'checkpoints.sqlite'}"
        self.log = AuditLog(self.path, key=KEY, head_db=self.db)
        app = Trifecta(default_specialists(), audit=self.log)
        self.heads: list[bytes] = []  # the head file after each run
        for request in ("What is 2+2?", "What is 3*7?", "What is 10-4?"):
            app.run(request)
            self.heads.append(self.path.with_name("audit.jsonl.head").read_bytes())
        self.lines = self.path.read_text().splitlines()

    def detected(self) -> bool:
        """Whether verification with the key and both heads reports a problem."""
        return not inspect_audit(self.path, key=KEY, head_db=self.db).ok

    def write_lines(self, lines: list[str]) -> None:
        self.path.write_text("".join(line + "\n" for line in lines))


def _runs(records: Records) -> list[list[dict[str, Any]]]:
    order = list(dict.fromkeys(r["run"] for r in records))
    return [[r for r in records if r["run"] == run] for run in order]


def _edit(records: Records) -> Records:
    records[3]["status"] = "rejected"
    return records


def _sign_with(key: AuditKey) -> Callable[[Records], Records]:
    def change(records: Records) -> Records:
        return [{**r, "key_id": key.id} for r in records]

    return change


def _resign(log: _Log, key: AuditKey) -> None:
    """A forger with their own key: re-hash, then sign every record and the head."""
    forge_audit(log.path, _sign_with(key))
    records = [json.loads(line) for line in log.path.read_text().splitlines()]
    for record in records:
        record["mac"] = key.sign(record["hash"])
    log.write_lines([json.dumps(r, sort_keys=True) for r in records])
    head = {"seq": records[-1]["seq"], "hash": records[-1]["hash"], "key_id": key.id}
    head["mac"] = key.sign(f"head\x00{head['seq']}\x00{head['hash']}")
    log.path.with_name("audit.jsonl.head").write_text(json.dumps(head))


def _rollback(log: _Log) -> None:
    """Truncate the last run and put back the genuine head file saved before it ran."""
    log.write_lines(log.lines[: -len(_runs([json.loads(x) for x in log.lines])[-1])])
    log.path.with_name("audit.jsonl.head").write_bytes(log.heads[-2])


TAMPERING: dict[str, Callable[[_Log], None]] = {
    "edit one record in place": lambda log: log.write_lines(
        [*log.lines[:3], log.lines[3].replace('"verified"', '"rejected"'), *log.lines[4:]]
    ),
    "edit and re-hash the chain": lambda log: forge_audit(log.path, _edit),
    "edit, re-hash, keep the stale MACs": lambda log: forge_audit(log.path, _edit, keep_macs=True),
    "delete one record": lambda log: log.write_lines(log.lines[:2] + log.lines[3:]),
    "swap two records": lambda log: log.write_lines([log.lines[1], log.lines[0], *log.lines[2:]]),
    "delete a whole run, re-hash": lambda log: forge_audit(
        log.path, lambda r: [x for run in (_runs(r)[0], _runs(r)[2]) for x in run]
    ),
    "insert a copied run, re-hash": lambda log: forge_audit(
        log.path, lambda r: [*r, *({**x, "run": "f" * 32} for x in _runs(r)[0])]
    ),
    "swap two whole runs, re-hash": lambda log: forge_audit(
        log.path, lambda r: [*_runs(r)[1], *_runs(r)[0], *_runs(r)[2]]
    ),
    "truncate the whole last run": lambda log: log.write_lines(
        log.lines[: -len(_runs([json.loads(x) for x in log.lines])[-1])]
    ),
    "truncate the last run, forge the head": lambda log: forge_audit(
        log.path, lambda r: [x for run in _runs(r)[:-1] for x in run], keep_macs=True
    ),
    "truncate the last run, roll the head back": _rollback,
    "strip every MAC, re-hash (downgrade)": lambda log: forge_audit(log.path, lambda r: r),
    "re-sign everything with another key": lambda log: _resign(log, OTHER_KEY),
    "delete the head file": lambda log: log.path.with_name("audit.jsonl.head").unlink(),
}


def _torn_tail(folder: Path) -> bool:
    """A torn last line: verify reports it, and a later run appends a linked segment."""
    log = _Log(folder)
    text = log.path.read_text()
    log.path.write_text(text[: len(text) - 25])
    Trifecta(default_specialists(), audit=log.log).run("What is 5+5?")
    problems = inspect_audit(log.path, key=KEY, head_db=log.db).problems
    linked = not any("does not follow" in p or "sequence" in p for p in problems)
    return linked and any("not a JSON record" in p for p in problems)


def _garbage(folder: Path) -> bool:
    """Garbage lines of every shape: each reported, verify never raises."""
    log = _Log(folder)
    junk = [b"", b"\xff\xfe binary", b"[]", b'{"seq": "x"}', b"[" * 100_000, b"null"]
    with log.path.open("ab") as handle:
        handle.write(b"\n".join(junk) + b"\n")
    done = subprocess.run(
        [*CLI, "audit", "verify", str(log.path), "--checkpoint", log.db],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    reported = done.stdout.count("(a torn write, or garbage)")
    return done.returncode == 1 and "Traceback" not in done.stderr and reported == len(junk)


_WORKER = """
import sys
from trifecta.audit import AuditLog
log = AuditLog(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
log.write("run_start", sys.argv[2])
for n in range(50):
    log.write("call", sys.argv[2], n=n)
log.write("run_end", sys.argv[2])
"""


def _concurrent(folder: Path) -> bool:
    """Four processes appending at once keep one chain with unique sequence numbers."""
    path = folder / "audit.jsonl"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(path), f"w{n}"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for n in range(4)
    ]  # fmt: skip
    for proc in procs:
        assert proc.stdout is not None
        proc.stdout.readline()
    for proc in procs:
        proc.communicate("go\n", timeout=120)
    seqs = [json.loads(line)["seq"] for line in path.read_text().splitlines()]
    return seqs == list(range(4 * 52)) and inspect_audit(path).ok


ROBUSTNESS: dict[str, Callable[[Path], bool]] = {
    "torn last line, then another run": _torn_tail,
    "garbage lines": _garbage,
    "four processes appending at once": _concurrent,
}


def audit_outcomes() -> list[tuple[str, bool]]:
    """Each audit attack and whether it was contained (found by a keyed verify, or, for
    the robustness cases, handled without breaking the chain or raising)."""
    out: list[tuple[str, bool]] = []
    for name, tamper in TAMPERING.items():
        with tempfile.TemporaryDirectory() as tmp:
            log = _Log(Path(tmp))
            if log.detected():
                raise RuntimeError("the untampered log does not verify")
            tamper(log)
            out.append((name, log.detected()))
    for name, check in ROBUSTNESS.items():
        with tempfile.TemporaryDirectory() as tmp:
            out.append((name, check(Path(tmp))))
    return out


def audit_rows() -> list[Row]:
    """``[("audit tampering", tried, contained)]``."""
    outcomes = audit_outcomes()
    return [("audit tampering", len(outcomes), sum(ok for _, ok in outcomes))]


def _cli(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Any:
    """The command in a subprocess; None when it hangs past 60 s."""
    try:
        return subprocess.run(
            [*CLI, *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd,
            env=env if env is not None else dict(os.environ),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None


def _tree(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def _refused(done: Any, created: set[Path]) -> bool:
    """Exit 2, one line naming the problem, no traceback, nothing created."""
    if done is None:
        return False
    lines = done.stderr.strip().splitlines()
    return (
        done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and not created
    )


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    (tmp / "plain.txt").write_text("not a database\n")
    markup = tmp / "a[/red]b"
    markup.mkdir(parents=True)
    (markup / "shop.sqlite").write_text("not a database\n")
    run = ["run", "What is 2+2?", "--data-dir", str(tmp / "data")]
    no_key = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return {
        "--checkpoint ftp://x": ([*run, "--checkpoint", "ftp://x"], None),
        "--checkpoint bogus": ([*run, "--checkpoint", "bogus"], None),
        "--checkpoint sqlite:////nonexistent/dir/x": (
            [*run, "--checkpoint", f"sqlite:///{tmp}/nonexistent/dir/x"],
            None,
        ),
        "--checkpoint a file that is not SQLite": (
            [*run, "--checkpoint", f"sqlite:///{tmp}/plain.txt"],
            None,
        ),
        "--checkpoint postgresql://…:1/": (
            [*run, "--checkpoint", "postgresql://postgres@127.0.0.1:1/test"],
            None,
        ),
        "--db naming a file that is not a database": (
            [*run, "--db", f"sqlite:///{tmp}/plain.txt"],
            None,
        ),
        "--db path holding [/red]": ([*run, "--db", f"sqlite:///{markup}/shop.sqlite"], None),
        "check sql --db path holding [/red]": (
            ["check", "sql", "--db", f"sqlite:///{markup}/shop.sqlite"],
            None,
        ),
        "--docs pointing at nothing": ([*run, "--docs", str(tmp / "nothing")], None),
        "--docs pointing at a file": ([*run, "--docs", str(tmp / "plain.txt")], None),
        "serve --port 99999": (["serve", "--port", "99999", "--checkpoint", "memory"], None),
        "--model with no API key": ([*run, "--model", "gpt-4o-mini"], no_key),
        "audit verify on a missing log": (["audit", "verify", str(tmp / "none.jsonl")], None),
    }


def _symlink_escape(tmp: Path) -> bool:
    """A symlink in the docs folder to a file outside it is skipped, with the reason."""
    secret = tmp / "outside.txt"
    secret.write_text("root:x:0:0:the zebra password is hunter2\n")
    docs, store = tmp / "docs", tmp / "store"
    docs.mkdir()
    (docs / "returns.md").write_text("# Returns\n\nThe refund window is 30 days.\n")
    (docs / "passwd.txt").symlink_to(secret)
    ingest = _cli(["ingest", str(docs), "--store", str(store)], tmp)
    found = _cli(["search", "zebra password", "--store", str(store), "--json"], tmp)
    if ingest is None or found is None or found.returncode != 0:
        return False
    hidden = all("hunter2" not in hit["text"] for hit in json.loads(found.stdout))
    return hidden and "a symlink leading outside" in ingest.stderr


def cli_outcomes() -> list[tuple[str, bool]]:
    """Each bad command-line input and whether it was contained (nothing may appear
    anywhere under the temporary folder, the working folder included)."""
    out: list[tuple[str, bool]] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for label, (args, env) in _bad_inputs(tmp).items():
            before = _tree(tmp)
            done = _cli(args, tmp, env)
            out.append((label, _refused(done, _tree(tmp) - before)))
        out.append(("docs symlink to a file outside the folder", _symlink_escape(tmp)))
    return out


def cli_rows() -> list[Row]:
    """``[("CLI bad input", tried, contained)]``."""
    outcomes = cli_outcomes()
    return [("CLI bad input", len(outcomes), sum(ok for _, ok in outcomes))]


def main() -> None:
    """Print every attack and its outcome, then the two rows."""
    for title, outcomes in (("audit", audit_outcomes()), ("cli", cli_outcomes())):
        for name, ok in outcomes:
            print(f"{title:<5} {'contained' if ok else 'NOT CONTAINED':<13} {name}")
        print(f"{title}: {sum(ok for _, ok in outcomes)}/{len(outcomes)} contained")


if __name__ == "__main__":
    main()
