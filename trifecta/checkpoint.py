"""Checkpointers by URL: a SQLite file (the default), PostgreSQL, or memory; and the
threads one holds, most recently checkpointed first (LangGraph's saver API lists
checkpoints, not threads: reading every checkpoint to find the threads would cost as much
as the store holds, so `recent_threads` asks the store for the distinct threads)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from trifecta.errors import UserError

__all__ = [
    "CheckpointKind",
    "checkpoint_kind",
    "open_checkpointer",
    "recent_threads",
    "redact_url",
]

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


# checkpoint ids are time-ordered (uuid6), so the largest is the newest
_SQL = (
    "SELECT thread_id, MAX(checkpoint_id) AS newest FROM checkpoints "
    "WHERE checkpoint_ns = '' AND substr(thread_id, 1, {q}) = {q} "
    "GROUP BY thread_id ORDER BY newest DESC LIMIT {q}"
)


async def recent_threads(saver: BaseCheckpointSaver[str], prefix: str, limit: int) -> list[str]:
    """Up to `limit` thread ids that start with `prefix`, newest first.

    Raises:
        UserError: the checkpointer is none of memory, SQLite or PostgreSQL.
    """
    if isinstance(saver, InMemorySaver):
        newest = {
            thread: max(spaces[""])
            for thread, spaces in saver.storage.items()
            if thread.startswith(prefix) and spaces.get("")
        }
        return sorted(newest, key=lambda t: newest[t], reverse=True)[:limit]
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    if isinstance(saver, AsyncSqliteSaver):
        await saver.setup()
        sql = _SQL.format(q="?")
        async with saver.lock, saver.conn.execute(sql, (len(prefix), prefix, limit)) as cursor:
            return [str(row[0]) for row in await cursor.fetchall()]
    if isinstance(saver, AsyncPostgresSaver):
        from langgraph.checkpoint.postgres._ainternal import get_connection
        from psycopg.rows import tuple_row

        sql = _SQL.format(q="%s")
        async with (
            saver.lock,
            get_connection(saver.conn) as conn,
            conn.cursor(row_factory=tuple_row) as cursor,
        ):
            await cursor.execute(sql, (len(prefix), prefix, limit))
            return [str(row[0]) for row in await cursor.fetchall()]
    raise UserError(
        f"listing runs needs a memory, SQLite or PostgreSQL checkpointer, not {type(saver).__name__}"
    )
