"""The audit log's head (its last sequence number and hash), kept outside the log: in a
sidecar file beside it and in the checkpoint database, so that removing whole records
from the end of the log is found."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trifecta._audit_chain import AuditKey

__all__ = [
    "DatabaseHead",
    "Head",
    "put_head",
    "read_sidecar",
    "sidecar_path",
    "write_sidecar",
]

_log = logging.getLogger("trifecta.audit")
_TABLE = "trifecta_audit_head"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} (log TEXT PRIMARY KEY, seq BIGINT NOT NULL, "
    "hash TEXT NOT NULL, key_id TEXT, mac TEXT)"
)
_UPSERT = (
    f"INSERT INTO {_TABLE} (log, seq, hash, key_id, mac) VALUES ({{p}}, {{p}}, {{p}}, {{p}}, {{p}}) "
    "ON CONFLICT (log) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
    f"key_id = excluded.key_id, mac = excluded.mac WHERE excluded.seq > {_TABLE}.seq"
)
_SELECT = f"SELECT seq, hash, key_id, mac FROM {_TABLE} WHERE log = {{p}}"


@dataclass(frozen=True)
class Head:
    """The last record of a log: its sequence number and hash, authenticated when keyed."""

    seq: int
    hash: str
    key_id: str | None = None
    mac: str | None = None

    @staticmethod
    def text(seq: int, hash_: str) -> str:
        """What a head's MAC covers."""
        return f"head\x00{seq}\x00{hash_}"

    @classmethod
    def of(cls, seq: int, hash_: str, key: AuditKey | None) -> Head:
        """The head for record `seq` with `hash_`, signed with `key` if any."""
        if key is None:
            return cls(seq, hash_)
        return cls(seq, hash_, key.id, key.sign(cls.text(seq, hash_)))

    def to_json(self) -> dict[str, Any]:
        """The sidecar's JSON form."""
        out: dict[str, Any] = {"seq": self.seq, "hash": self.hash}
        if self.mac is not None:
            out |= {"key_id": self.key_id, "mac": self.mac}
        return out

    @classmethod
    def from_json(cls, value: Any) -> Head | None:
        """A head from parsed JSON, or None when the shape is wrong."""
        if not isinstance(value, dict):
            return None
        seq, hash_ = value.get("seq"), value.get("hash")
        key_id, mac = value.get("key_id"), value.get("mac")
        if type(seq) is not int or not isinstance(hash_, str):
            return None
        if not isinstance(key_id, str | None) or not isinstance(mac, str | None):
            return None
        return cls(seq, hash_, key_id, mac)


def sidecar_path(log: Path) -> Path:
    """``runs.jsonl`` → ``runs.jsonl.head``."""
    return log.with_name(log.name + ".head")


def read_sidecar(log: Path) -> tuple[bool, Head | None]:
    """(exists, head): the head is None when the file is missing or unreadable."""
    path = sidecar_path(log)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return False, None
    except OSError:
        return True, None
    try:
        return True, Head.from_json(json.loads(raw.decode("utf-8")))
    except (ValueError, RecursionError):
        return True, None


def put_head(fd: int, head: Head) -> None:
    """Overwrite the head file open at `fd` in place. Writers hold the log's exclusive
    lock and readers its shared lock, so no one sees a half-written head (a crash
    mid-write leaves a malformed head, which the next append and `verify` report). In
    place, not by rename: replacing a file forces a data flush on ext4 (8 ms here)."""
    data = json.dumps(head.to_json()).encode()
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))


def write_sidecar(log: Path, head: Head) -> None:
    """Write the head file of `log` (see `put_head`)."""
    fd = os.open(sidecar_path(log), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        put_head(fd, head)
    finally:
        os.close(fd)


class DatabaseHead:
    """The head kept in the checkpoint database (SQLite file or PostgreSQL), per log path.

    It only moves forward, so it always names a record the log must still hold.
    """

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = str(log.resolve())
        self.postgres = url.startswith(("postgresql://", "postgres://"))

    def _connect(self, read_only: bool) -> Any:
        if self.postgres:
            import psycopg

            return psycopg.connect(self.url, autocommit=True, connect_timeout=3)
        path = Path(self.url.removeprefix("sqlite:///"))
        if read_only:
            return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        return sqlite3.connect(path, timeout=5)

    def write(self, head: Head) -> None:
        """Advance the stored head; a database error is logged, never raised (the
        sidecar still holds the head)."""
        mark = "%s" if self.postgres else "?"
        try:
            conn = self._connect(read_only=False)
            try:
                conn.execute(_CREATE)
                conn.execute(
                    _UPSERT.format(p=mark), (self.log, head.seq, head.hash, head.key_id, head.mac)
                )
                conn.commit()
            finally:
                conn.close()
        except Exception as exc:  # sqlite3 and psycopg errors; the run must not fail here
            _log.warning("audit head not recorded in the checkpoint database: %s", exc)

    def read(self) -> Head | None:
        """The stored head, or None when there is none.

        Raises:
            OSError: the database cannot be read (the message says why).
        """
        if not self.postgres and not Path(self.url.removeprefix("sqlite:///")).is_file():
            return None
        mark = "%s" if self.postgres else "?"
        try:
            conn = self._connect(read_only=True)
            try:
                row = conn.execute(_SELECT.format(p=mark), (self.log,)).fetchone()
            finally:
                conn.close()
        except Exception as exc:  # a missing table is "no head"; anything else is reported
            if "trifecta_audit_head" in str(exc):
                return None
            raise OSError(f"cannot read the checkpoint database: {exc}") from exc
        return None if row is None else Head(int(row[0]), str(row[1]), row[2], row[3])
