"""The threads a checkpointer holds, most recently checkpointed first (LangGraph's saver
API lists checkpoints, not threads: reading every checkpoint to find the threads would
cost as much as the store holds, so this asks the store for the distinct threads)."""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from trifecta.errors import UserError

__all__ = ["recent_threads"]

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
