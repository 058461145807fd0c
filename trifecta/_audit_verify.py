"""Verifying an audit log: the chain, the HMACs, the heads; every problem is reported,
nothing raises on a damaged file."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from trifecta._audit_chain import GENESIS, AuditKey, digest, parse_record
from trifecta._audit_head import DatabaseHead, Head, read_sidecar, sidecar_path

__all__ = ["AuditReport", "inspect_log"]


@dataclass(frozen=True)
class AuditReport:
    """What `trifecta audit verify` found and what it proved.

    Attributes:
        problems: every finding, one line each (empty when intact).
        records: records read.
        runs: runs started.
        key_id: the key the records were checked with (None: no key given).
        signed: records carrying an HMAC.
        heads: where the log's head was compared (sidecar, checkpoint database).
        notes: what could not be checked, and why.
    """

    problems: tuple[str, ...]
    records: int
    runs: int
    key_id: str | None
    signed: int
    heads: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.problems

    def summary(self) -> list[str]:
        """The verdict for people: intact or not, and what was and was not proven."""
        first = (
            "intact" if self.ok else f"{len(self.problems)} problem(s)"
        ) + f": {self.records} record(s), {self.runs} run(s)"
        if self.key_id is not None and not self.ok:
            proof = f"checked with key {self.key_id} (HMAC-SHA256): see the problems above"
        elif self.key_id is not None:
            proof = (
                f"authenticated: every record's HMAC-SHA256 checks with key {self.key_id}, so no "
                "record was edited, added, removed or reordered by anyone without the key"
            )
        elif self.signed:
            proof = (
                "NOT authenticated: the records carry HMACs but no key was given "
                "(--key-file / --key-env); only the plain hash chain was checked, which anyone "
                "who can write the file can recompute"
            )
        else:
            proof = (
                "NOT authenticated: the records were written without a key; the hash chain "
                "finds accidental damage and naive edits, not a rewrite that re-hashes the chain"
            )
        where = " and ".join(self.heads) if self.heads else "nowhere"
        head = f"head compared with: {where}"
        return [first, proof, head, *(f"note: {n}" for n in self.notes)]


@dataclass
class _Walk:
    """State while reading the log, record by record."""

    key: AuditKey | None
    db_seq: int | None
    problems: list[str] = field(default_factory=list)
    prev: str = GENESIS
    expected: int = 0
    last: tuple[int, str] | None = None
    records: int = 0
    runs: int = 0
    signed: int = 0
    unsigned_after_signed: int = 0
    db_hash: str | None = None
    open_runs: dict[str, int] = field(default_factory=dict)


def _lines(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(handle, 1):
        yield number, line.rstrip(b"\n")


def _check_mac(walk: _Walk, number: int, record: dict[str, Any]) -> None:
    seq, mac = record["seq"], record.get("mac")
    if mac is not None:
        walk.signed += 1
    elif walk.signed:
        walk.unsigned_after_signed += 1
        walk.problems.append(
            f"line {number}: record {seq} has no HMAC while earlier records do "
            "(rewritten without the key?)"
        )
        return
    if walk.key is None:
        return
    if mac is None:
        walk.problems.append(
            f"line {number}: record {seq} is not authenticated (no HMAC): written without "
            "the key, or rewritten by someone without it"
        )
    elif record.get("key_id") != walk.key.id:
        walk.problems.append(
            f"line {number}: record {seq} was signed with another key "
            f"(id {record.get('key_id')}, not {walk.key.id})"
        )
    elif not walk.key.check(str(record["hash"]), mac):
        walk.problems.append(
            f"line {number}: record {seq} fails its HMAC (edited and re-hashed without the key)"
        )


def _check_links(walk: _Walk, number: int, record: dict[str, Any]) -> None:
    seq = record["seq"]
    if record["hash"] != digest(record):
        walk.problems.append(f"line {number}: record {seq} was edited (hash mismatch)")
    if seq != walk.expected:
        walk.problems.append(
            f"line {number}: sequence {seq} where {walk.expected} was expected "
            "(removed, inserted or reordered)"
        )
    if record["prev"] != walk.prev:
        walk.problems.append(
            f"line {number}: does not follow the previous record (removed, inserted or reordered)"
        )


def _track_run(walk: _Walk, number: int, record: dict[str, Any]) -> None:
    kind, run = record.get("kind"), str(record.get("run"))
    if kind == "run_start":
        walk.runs += 1
        walk.open_runs[run] = number
    elif kind == "run_end":
        walk.open_runs.pop(run, None)
    elif kind == "segment":
        walk.problems.append(
            f"line {number}: the writer started a new segment at record {record['seq']}: "
            f"{record.get('reason')}"
        )


def _read(walk: _Walk, number: int, line: bytes) -> None:
    record = parse_record(line)
    if record is None:
        shown = "an empty line" if not line.strip() else "not a JSON record"
        walk.problems.append(f"line {number}: {shown} (a torn write, or garbage)")
        return
    walk.records += 1
    _check_links(walk, number, record)
    _check_mac(walk, number, record)
    _track_run(walk, number, record)
    seq = record["seq"]
    if seq == walk.db_seq and walk.db_hash is None:
        walk.db_hash = str(record["hash"])
    walk.prev, walk.expected = str(record["hash"]), seq + 1
    walk.last = (seq, str(record["hash"]))


def _head_mac(walk: _Walk, head: Head, where: str) -> None:
    if walk.key is None:
        return
    if head.mac is None:
        walk.problems.append(f"{where}: the head is not authenticated (no HMAC)")
    elif head.key_id != walk.key.id or not walk.key.check(Head.text(head.seq, head.hash), head.mac):
        walk.problems.append(f"{where}: the head fails its HMAC (forged)")


def _check_sidecar(walk: _Walk, log: Path) -> bool:
    exists, head = read_sidecar(log)
    where = f"head file {sidecar_path(log).name}"
    if not exists:
        if walk.last is not None:
            walk.problems.append(
                f"{where} is missing: removal of whole records at the end cannot be ruled out"
            )
        return False
    if head is None:
        walk.problems.append(f"{where} is unreadable or malformed")
        return True
    _head_mac(walk, head, where)
    last_seq, last_hash = walk.last if walk.last else (-1, GENESIS)
    if head.seq > last_seq:
        walk.problems.append(
            f"{where} names record {head.seq} but the log ends at record {last_seq}: "
            "records were removed from the end (truncated)"
        )
    elif head.seq < last_seq:
        walk.problems.append(
            f"{where} names record {head.seq} but the log continues to record {last_seq} "
            "(an interrupted append, or the head was rolled back)"
        )
    elif head.hash != last_hash:
        walk.problems.append(f"{where} does not match the log's last record (rewritten)")
    return True


def _check_database(walk: _Walk, database: DatabaseHead, head: Head) -> None:
    where = "checkpoint database head"
    _head_mac(walk, head, where)
    last_seq = walk.last[0] if walk.last else -1
    if head.seq > last_seq:
        walk.problems.append(
            f"{where} names record {head.seq} but the log ends at record {last_seq}: "
            "records were removed from the end (truncated)"
        )
    elif walk.db_hash != head.hash:
        walk.problems.append(
            f"{where}: record {head.seq} differs from the one recorded at the end of its run "
            "(rewritten)"
        )


def _database_head(database: DatabaseHead | None, notes: list[str]) -> Head | None:
    if database is None:
        return None
    try:
        head = database.read()
    except OSError as exc:
        notes.append(f"the checkpoint database head was not checked: {exc}")
        return None
    if head is None:
        notes.append("the checkpoint database holds no head for this log")
    return head


def inspect_log(
    path: Path, key: AuditKey | None = None, database: DatabaseHead | None = None
) -> AuditReport:
    """Verify the log at `path` (a shared lock keeps writers out while it is read).

    Raises:
        OSError: the log cannot be opened.
    """
    notes: list[str] = []
    db_head = _database_head(database, notes)
    walk = _Walk(key, db_head.seq if db_head else None)
    with path.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        for number, line in _lines(handle):
            _read(walk, number, line)
        heads = ["sidecar file"] if _check_sidecar(walk, path) else []
    if db_head is not None and database is not None:
        _check_database(walk, database, db_head)
        heads.append("checkpoint database")
    walk.problems += [
        f"line {n}: run {run} has no run_end record (truncated?)"
        for run, n in walk.open_runs.items()
    ]
    if key is None and walk.signed:
        notes.append("HMACs present but not checked: give the key to authenticate the records")
    return AuditReport(
        problems=tuple(walk.problems),
        records=walk.records,
        runs=walk.runs,
        key_id=key.id if key else None,
        signed=walk.signed,
        heads=tuple(heads),
        notes=tuple(notes),
    )
