"""The audit trail: an append-only JSON-lines log whose records are hash-chained and,
with a key, authenticated.

Each record carries ``seq``, ``prev`` (the previous record's hash) and ``hash`` (the
SHA-256 of the record's canonical JSON without ``hash`` and ``mac``). With an
`AuditKey`, each record also carries ``key_id`` and ``mac``, the HMAC-SHA256 of its hash,
so re-hashing the chain without the key is found. The log's head (last sequence number
and hash) is kept in a sidecar file ``<log>.head`` and, at the end of each run, in the
checkpoint database, so removing whole records from the end is found. Appends hold an
exclusive ``flock`` on the log, so processes writing at once keep one chain. A torn or
foreign tail does not stop later runs: the next append starts a new segment (a
``segment`` record saying why, linked to the last good record), which `verify_audit`
reports. Prompts and responses are logged as hashes; their text only with
``store_content=True``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from trifecta._audit_chain import (
    GENESIS,
    AuditKey,
    AuditKeyError,
    OpenFile,
    Tail,
    digest,
    generate_key,
    load_key,
    read_tail,
)
from trifecta._audit_head import DatabaseHead, Head, put_head, read_sidecar, sidecar_path
from trifecta._audit_verify import AuditReport, inspect_log

__all__ = [
    "GENESIS",
    "AuditKey",
    "AuditKeyError",
    "AuditLog",
    "AuditReport",
    "generate_key",
    "inspect_audit",
    "load_key",
    "sha256_text",
    "verify_audit",
]


def sha256_text(text: str) -> str:
    """The SHA-256 of a text, as logged for prompts and responses."""
    return hashlib.sha256(text.encode()).hexdigest()


def _stamp(fd: int) -> tuple[int, ...]:
    """What changes when anyone else writes, truncates or replaces the file."""
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _segment_reason(tail: Tail, head: Head | None, head_exists: bool) -> str | None:
    """Why the next append cannot simply continue the chain, if it cannot."""
    last = tail.record
    seq, hash_ = (last["seq"], last["hash"]) if last else (-1, GENESIS)
    if tail.junk:
        digest_ = hashlib.sha256(tail.junk).hexdigest()
        return (
            f"{len(tail.junk)} byte(s) after record {seq} are not a record "
            f"(a torn write, or garbage; sha256 {digest_})"
        )
    if head_exists and head is None:
        return "the head file was unreadable"
    if head is None:
        return f"the head file was missing for a log ending at record {seq}" if last else None
    if head.seq > seq:
        return f"the log ended at record {seq} but its head named record {head.seq} (truncated)"
    if head.seq < seq:
        return f"the head named record {head.seq} but the log continued to record {seq}"
    if head.hash != hash_:
        return f"the head did not match record {seq} (rewritten)"
    return None


class AuditLog:
    """Appends chained records to `path`, continuing the chain already there.

    Args:
        path: the JSON-lines file (its folder is created).
        store_content: also log prompt and response text (they may be sensitive).
        key: authenticate every record with this key (HMAC-SHA256).
        head_db: a checkpoint database URL (``sqlite:///…``, ``postgresql://…``) that
            also records the log's head at the end of each run.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        store_content: bool = False,
        key: AuditKey | None = None,
        head_db: str | None = None,
    ) -> None:
        self.path = Path(path)
        self._log = OpenFile(self.path, os.O_RDWR | os.O_APPEND)
        self._head = OpenFile(sidecar_path(self.path), os.O_WRONLY)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.store_content = store_content
        self.key = key
        self.head_db = DatabaseHead(head_db, self.path) if head_db else None
        self._lock = threading.Lock()
        self._last: tuple[int, str] | None = (
            None  # our last record, while the file is as we left it
        )
        self._stamp: tuple[int, ...] = ()

    def _seal(self, record: dict[str, Any]) -> dict[str, Any]:
        if self.key is not None:
            record["key_id"] = self.key.id
        record["hash"] = digest(record)
        if self.key is not None:
            record["mac"] = self.key.sign(record["hash"])
        return record

    def _next(self, seq: int, prev: str, kind: str, run: str, fields: Any) -> dict[str, Any]:
        record = {"seq": seq, "ts": round(time.time(), 6), "run": run, "kind": kind}
        return self._seal({**record, **fields, "prev": prev})

    def _resume(self, fd: int) -> tuple[int, str, bytes]:
        """(next seq, prev hash, bytes to write first) from the file itself: after another
        writer, or on a damaged tail (then a ``segment`` record explains the break)."""
        tail = read_tail(fd)
        exists, head = read_sidecar(self.path)
        last = tail.record
        seq, prev = (last["seq"] + 1, str(last["hash"])) if last else (0, GENESIS)
        out = b"" if tail.ends_with_newline else b"\n"
        reason = _segment_reason(tail, head, exists)
        if reason is None:
            return seq, prev, out
        segment = self._next(seq, prev, "segment", "", {"reason": reason})
        return seq + 1, segment["hash"], out + json.dumps(segment, sort_keys=True).encode() + b"\n"

    def write(self, kind: str, run: str, **fields: Any) -> dict[str, Any]:
        """Append one record of `kind` for `run` and return it."""
        with self._lock:
            fd = self._log.locked()
            try:
                if self._last is not None and _stamp(fd) == self._stamp:
                    seq, prev, out = self._last[0] + 1, self._last[1], b""  # still our tail
                else:
                    seq, prev, out = self._resume(fd)
                record = self._next(seq, prev, kind, run, fields)
                os.write(fd, out + json.dumps(record, sort_keys=True, default=str).encode() + b"\n")
                head = Head.of(seq, record["hash"], self.key)
                put_head(self._head.fd(), head)
                self._last, self._stamp = (seq, record["hash"]), _stamp(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        if kind == "run_end" and self.head_db is not None:
            self.head_db.write(head)
        return record

    def close(self) -> None:
        """Close the log and head files (a later `write` reopens them)."""
        with self._lock:
            self._log.close()
            self._head.close()

    def __del__(self) -> None:
        self._log.close()
        self._head.close()

    @staticmethod
    def new_run() -> str:
        """A fresh run id."""
        return uuid.uuid4().hex


def inspect_audit(
    path: str | Path, *, key: AuditKey | None = None, head_db: str | None = None
) -> AuditReport:
    """Verify the log at `path`: the chain, the HMACs when `key` is given, and the head
    in the sidecar file and in `head_db` (a checkpoint database URL) when it has one.

    Never raises on a damaged log: garbage and torn lines are problems like any other.

    Raises:
        OSError: the log cannot be opened.
    """
    log = Path(path)
    database = DatabaseHead(head_db, log) if head_db else None
    return inspect_log(log, key, database)


def verify_audit(
    path: str | Path, *, key: AuditKey | None = None, head_db: str | None = None
) -> list[str]:
    """Every problem in the log (empty when intact); see `inspect_audit`."""
    return list(inspect_audit(path, key=key, head_db=head_db).problems)
