"""The audit log's building blocks: record digests, the HMAC key, the tail of a log file."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trifecta.errors import UserError

__all__ = [
    "GENESIS",
    "AuditKey",
    "AuditKeyError",
    "OpenFile",
    "Tail",
    "digest",
    "generate_key",
    "load_key",
    "parse_record",
    "read_tail",
]

GENESIS = "0" * 64
KEY_BYTES = 32
_UNHASHED = frozenset({"hash", "mac"})
_BLOCK = 4_096
_MAX_BLOCK = 1 << 20


class AuditKeyError(UserError):
    """The audit key is missing, unreadable or malformed; the message says which."""


@dataclass(frozen=True)
class AuditKey:
    """The secret that authenticates audit records (HMAC-SHA256)."""

    secret: bytes

    @property
    def id(self) -> str:
        """A public fingerprint of the key (it reveals nothing of the secret)."""
        return hashlib.sha256(b"trifecta-audit-key-id\x00" + self.secret).hexdigest()[:16]

    def sign(self, text: str) -> str:
        """HMAC-SHA256 of `text`, hex."""
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()

    def check(self, text: str, mac: object) -> bool:
        """Whether `mac` is this key's HMAC of `text` (constant-time comparison)."""
        return isinstance(mac, str) and hmac.compare_digest(self.sign(text), mac)


def _decode_key(text: str, where: str) -> AuditKey:
    value = text.strip()
    try:
        secret = bytes.fromhex(value)
    except ValueError:
        raise AuditKeyError(f"audit key in {where} is not hexadecimal") from None
    if len(secret) < KEY_BYTES:
        raise AuditKeyError(
            f"audit key in {where} has {len(secret)} bytes; at least {KEY_BYTES} are needed "
            "(make one with: trifecta audit keygen FILE)"
        )
    return AuditKey(secret)


def load_key(
    file: str | Path | None = None,
    env_var: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> AuditKey | None:
    """The key from a file or from the environment variable named `env_var` (None when
    neither is given).

    Raises:
        AuditKeyError: both given, the file unreadable, the variable unset, or not a
            hex key of at least 32 bytes.
    """
    if file and env_var:
        raise AuditKeyError("give the audit key as a file or an environment variable, not both")
    if file:
        try:
            return _decode_key(Path(file).read_text("utf-8"), f"file {file}")
        except (OSError, UnicodeDecodeError) as exc:
            raise AuditKeyError(f"cannot read the audit key file {file}: {exc}") from exc
    if env_var:
        value = (os.environ if environ is None else environ).get(env_var)
        if not value:
            raise AuditKeyError(f"the audit key variable {env_var} is not set")
        return _decode_key(value, f"${env_var}")
    return None


def generate_key(path: str | Path) -> AuditKey:
    """Write a new random key to `path` (created with mode 0600; never overwritten).

    Raises:
        FileExistsError: `path` exists.
    """
    key = AuditKey(secrets.token_bytes(KEY_BYTES))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key.secret.hex() + "\n")
    return key


def digest(record: Mapping[str, Any]) -> str:
    """SHA-256 of a record's canonical JSON without its ``hash`` and ``mac``."""
    body = {k: v for k, v in record.items() if k not in _UNHASHED}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def parse_record(line: bytes) -> dict[str, Any] | None:
    """The record on `line`, or None when it is not one (torn, garbage, wrong shape)."""
    try:
        value = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    seq, hash_, prev = value.get("seq"), value.get("hash"), value.get("prev")
    if type(seq) is not int or not isinstance(hash_, str) or not isinstance(prev, str):
        return None
    return value


@dataclass(frozen=True)
class Tail:
    """The end of a log file: its last record, and what follows it that is not a record."""

    record: dict[str, Any] | None
    junk: bytes
    ends_with_newline: bool


def read_tail(fd: int) -> Tail:
    """Scan the file open at `fd` backwards to its last record (reads only the end of a
    clean log: one small block, doubled while no whole record is found)."""
    end = os.fstat(fd).st_size
    if end == 0:
        return Tail(None, b"", True)
    position, buffer, tried, step = end, b"", 0, _BLOCK
    while True:
        step = min(step * 2, position, _MAX_BLOCK)
        position -= step
        buffer = os.pread(fd, step, position) + buffer
        lines = buffer.split(b"\n")
        whole = lines if position == 0 else lines[1:]
        for index in range(len(whole) - 1 - tried, -1, -1):
            record = parse_record(whole[index])
            if record is not None:
                start = len(buffer) - len(b"\n".join(whole[index + 1 :]))
                junk = buffer[start:].strip(b"\n") if index + 1 < len(whole) else b""
                return Tail(record, junk, buffer.endswith(b"\n"))
        tried = len(whole)
        if position == 0:
            return Tail(None, buffer.strip(b"\n"), buffer.endswith(b"\n"))


class OpenFile:
    """A file kept open by descriptor across writes, reopened when its path is removed
    or replaced (a rotated log, a re-created head file)."""

    def __init__(self, path: Path, flags: int) -> None:
        self.path, self.flags = path, flags
        self._fd: int | None = None

    def _current(self, fd: int) -> bool:
        try:
            return os.path.samestat(os.fstat(fd), os.stat(self.path))
        except FileNotFoundError:
            return False

    def fd(self) -> int:
        """The descriptor of the file now at the path."""
        if self._fd is not None and not self._current(self._fd):
            self.close()
        if self._fd is None:
            self._fd = os.open(self.path, self.flags | os.O_CREAT, 0o644)
        return self._fd

    def locked(self) -> int:
        """`fd()` with an exclusive ``flock`` held on the file now at the path."""
        while True:
            fd = self.fd()
            fcntl.flock(fd, fcntl.LOCK_EX)
            if self._current(fd):
                return fd
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the descriptor (the next use reopens it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
