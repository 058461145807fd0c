"""Checkpointers by URL: a SQLite file (the default), PostgreSQL, or memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from trifecta.errors import UserError

__all__ = ["CheckpointKind", "checkpoint_kind", "open_checkpointer", "redact_url"]

CheckpointKind = Literal["memory", "sqlite", "postgres"]


def checkpoint_kind(url: str) -> CheckpointKind:
    """What a checkpointer URL names: ``memory``, ``sqlite:///path`` or ``postgresql://…``.

    Raises:
        ValueError: any other scheme, or a bare path (the message names the URL).
    """
    if url == "memory":
        return "memory"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgres"
    if url.startswith("sqlite:///") and url.removeprefix("sqlite:///").strip():
        return "sqlite"
    raise UserError(
        f"unsupported checkpoint URL {redact_url(url)!r}: "
        "use sqlite:///file, postgresql://… or memory"
    )


def redact_url(url: str) -> str:
    """`url` with any password replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    netloc = rest.split("/", 1)[0]
    if not sep or "@" not in netloc:
        return url
    credentials, _, host = netloc.rpartition("@")
    user, colon, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}{rest[len(netloc) :]}"


@asynccontextmanager
async def open_checkpointer(url: str) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """Open the checkpointer for `url`.

    ``postgresql://…`` uses the Postgres saver (tables created on first use);
    ``sqlite:///path`` uses a SQLite file (its folder is created: the default lives in
    the data dir); ``memory`` keeps checkpoints in this process.

    Raises:
        ValueError: an unsupported URL (nothing is created).
    """
    kind = checkpoint_kind(url)
    if kind == "memory":
        yield InMemorySaver()
    elif kind == "postgres":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(url) as saver:
            await saver.setup()
            yield saver
    else:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            yield saver
