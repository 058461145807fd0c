"""The audit trail: an append-only JSON-lines log whose records are hash-chained.

Each record carries ``seq``, ``prev`` (the previous record's hash) and ``hash`` (the
SHA-256 of the record's canonical JSON without ``hash``). `verify_audit` recomputes the
chain, so an edited, removed, reordered or truncated record is found. Prompts and
responses are logged as hashes; their text only with ``store_content=True``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["GENESIS", "AuditLog", "verify_audit"]

GENESIS = "0" * 64


def _digest(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def sha256_text(text: str) -> str:
    """The SHA-256 of a text, as logged for prompts and responses."""
    return hashlib.sha256(text.encode()).hexdigest()


class AuditLog:
    """Appends hash-chained records to `path` (continuing the chain already there).

    Args:
        path: the JSON-lines file.
        store_content: also log prompt and response text (they may be sensitive).
    """

    def __init__(self, path: str | Path, *, store_content: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.store_content = store_content
        self._lock = threading.Lock()
        self._seq, self._prev = self._tail()

    def _tail(self) -> tuple[int, str]:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0, GENESIS
        last = self.path.read_text("utf-8").rstrip("\n").rsplit("\n", 1)[-1]
        record = json.loads(last)
        return int(record["seq"]) + 1, str(record["hash"])

    def write(self, kind: str, run: str, **fields: Any) -> dict[str, Any]:
        """Append one record of `kind` for `run` and return it."""
        with self._lock:
            record: dict[str, Any] = {
                "seq": self._seq,
                "ts": round(time.time(), 6),
                "run": run,
                "kind": kind,
                **fields,
                "prev": self._prev,
            }
            record["hash"] = _digest(record)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, sort_keys=True, default=str) + "\n")
            self._seq, self._prev = self._seq + 1, record["hash"]
            return record

    @staticmethod
    def new_run() -> str:
        """A fresh run id."""
        return uuid.uuid4().hex


def verify_audit(path: str | Path) -> list[str]:
    """Every problem in the chain (empty when intact): unreadable lines, edited records
    (hash mismatch), removed or reordered ones (sequence or link broken), and runs that
    start but never end (a truncated tail)."""
    problems: list[str] = []
    prev, expected_seq = GENESIS, 0
    open_runs: dict[str, int] = {}
    for number, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            problems.append(f"line {number}: not a JSON record (truncated or edited)")
            continue
        if record.get("hash") != _digest(record):
            problems.append(f"line {number}: record {record.get('seq')} was edited (hash mismatch)")
        if record.get("seq") != expected_seq:
            problems.append(
                f"line {number}: sequence {record.get('seq')} where {expected_seq} was expected (removed or reordered)"
            )
        if record.get("prev") != prev:
            problems.append(
                f"line {number}: does not follow the previous record (removed or reordered)"
            )
        prev, expected_seq = str(record.get("hash")), int(record.get("seq", expected_seq)) + 1
        if record.get("kind") == "run_start":
            open_runs[str(record.get("run"))] = number
        elif record.get("kind") == "run_end":
            open_runs.pop(str(record.get("run")), None)
    problems += [
        f"line {n}: run {run} has no run_end record (truncated?)" for run, n in open_runs.items()
    ]
    return problems
