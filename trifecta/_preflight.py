"""Checks the command line runs before it starts anything, so that bad input ends in one
line naming the problem (exit 2) and nothing is created on a bad URL or path."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from trifecta.audit import AuditKeyError, load_key
from trifecta.checkpoint import checkpoint_kind, redact_url
from trifecta.config import Config, ConfigError
from trifecta.registry import build_chains

__all__ = [
    "check_aliases",
    "check_checkpoint",
    "check_config",
    "check_db",
    "check_docs",
    "check_listen",
    "fail",
]

_err = Console(stderr=True, soft_wrap=True)

_SQLITE_MAGIC = b"SQLite format 3\x00"


def _sqlite_file(path: Path, what: str) -> None:
    """An existing file must be a SQLite database; a new one needs an existing folder."""
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder, not a SQLite file")
    if path.exists():
        try:
            with path.open("rb") as handle:
                header = handle.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise ConfigError(f"{what} {path} cannot be read: {exc.strerror}") from exc
        if header and header != _SQLITE_MAGIC:
            raise ConfigError(f"{what} {path} is not a SQLite database")
    elif not path.parent.is_dir():
        raise ConfigError(f"{what} {path}: the folder {path.parent} does not exist")


def _postgres(url: str, what: str) -> None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"{what} {redact_url(url)} cannot be reached: {reason}") from exc


def check_checkpoint(config: Config) -> None:
    """The checkpoint URL names a usable store: a SQLite file (or a new one in an existing
    folder) or a reachable PostgreSQL database. The default, in the data dir, is created.

    Raises:
        ConfigError: the URL, the folder, the file or the server is wrong.
    """
    if config.checkpoint is None:
        return
    try:
        kind = checkpoint_kind(config.checkpoint)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if kind == "sqlite":
        _sqlite_file(Path(config.checkpoint.removeprefix("sqlite:///")), "checkpoint")
    elif kind == "postgres":
        _postgres(config.checkpoint, "checkpoint database")


def check_db(url: str) -> None:
    """The SQL specialist's database opens and its schema can be read.

    Raises:
        ConfigError: the URL is unsupported, the file is not a database, the server is
            unreachable.
    """
    from trifecta.specialists.sql import connect

    if url.startswith("sqlite:///") or "://" not in url:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise ConfigError(f"--db: no SQLite database at {path}")
        _sqlite_file(path, "--db")
    try:
        database = connect(url)
        try:
            database.schema()
        finally:
            database.close()
    except (ValueError, OSError, RuntimeError, sqlite3.Error) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"--db {redact_url(url)}: {reason}") from exc


def check_docs(docs: str) -> None:
    """The documents folder exists and is a folder.

    Raises:
        ConfigError: it does not exist, or it is a file.
    """
    path = Path(docs)
    if not path.exists():
        raise ConfigError(f"--docs: no folder at {path}")
    if not path.is_dir():
        raise ConfigError(f"--docs: {path} is a file; give the folder of documents")


def check_listen(host: str, port: int) -> None:
    """`serve` can listen on `host`:`port` (a valid port, a known host, not in use).

    Raises:
        ConfigError: the port is out of range, the host unknown or the address taken.
    """
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port} is not a TCP port (0-65535)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from exc


def check_config(config: Config) -> None:
    """Everything a run or the server would open: checkpoints, the database, the
    documents folder, the models (an OpenAI endpoint without a key is refused), the
    audit key.

    Raises:
        ConfigError: the first problem found.
    """
    check_checkpoint(config)
    if config.audit_log:
        if Path(config.audit_log).is_dir():
            raise ConfigError(f"--audit-log {config.audit_log} is a folder, not a file")
        try:
            load_key(config.audit_key_file, config.audit_key_env)
        except AuditKeyError as exc:
            raise ConfigError(str(exc)) from exc
    if config.docs:
        check_docs(config.docs)
    if config.db:
        check_db(config.db)
    build_chains(config)


def check_aliases(config: Config) -> None:
    """Every ``[databases]`` entry opens and every ``[stores]`` entry is a store.

    Raises:
        ConfigError: the first that does not.
    """
    for alias, url in config.databases.items():
        try:
            check_db(url)
        except ConfigError as exc:
            raise ConfigError(f"databases.{alias}: {exc}") from exc
    for alias, path in config.stores.items():
        if not (Path(path) / "chroma").is_dir():
            raise ConfigError(f"stores.{alias}: no document store at {path} (trifecta ingest)")


def fail(problem: object, code: int = 2) -> int:
    """Print ``error: <problem>`` as one line on stderr (no markup read from it); return
    `code` (2: bad input or configuration; 3: a run error, see `trifecta.errors`)."""
    text = " ".join(str(problem).split()) or type(problem).__name__
    _err.print(f"[red]error:[/red] {escape(text)}", highlight=False)
    return code
