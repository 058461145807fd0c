"""The server's checkpointer: a PostgreSQL connection pool that replaces broken
connections (so an outage ends by itself when the database returns), a probe for
``/healthz``, and the errors that mean "the checkpointer is unavailable"."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from trifecta.checkpoint import open_checkpointer

__all__ = ["ServerCheckpointer", "is_outage", "open_server_checkpointer"]


def _outage_types() -> tuple[type[BaseException], ...]:
    import psycopg
    import psycopg_pool

    return (
        psycopg.OperationalError,
        psycopg.InterfaceError,
        psycopg_pool.PoolTimeout,
        psycopg_pool.PoolClosed,
        sqlite3.OperationalError,
    )


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says the checkpoint store cannot be reached or used right now."""
    return isinstance(exc, _outage_types())


@dataclass(frozen=True)
class ServerCheckpointer:
    """The saver and a probe that raises while its store is unavailable."""

    saver: BaseCheckpointSaver[str]
    ping: Callable[[], Awaitable[object]]

    async def problem(self, timeout_s: float = 2.0) -> str | None:
        """None when the store answers a trivial query within `timeout_s`, else why not."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.ping()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}".strip(": ")
        return None


async def _nothing() -> None:
    return None


@asynccontextmanager
async def open_server_checkpointer(
    url: str, *, timeout_s: float = 5.0, max_connections: int = 8
) -> AsyncIterator[ServerCheckpointer]:
    """The checkpointer for `trifecta serve`.

    PostgreSQL goes through a pool: each connection is checked before use, a broken one
    is replaced, and a request that cannot get a working connection within `timeout_s`
    fails with `psycopg_pool.PoolTimeout` (answered 503) instead of hanging. Other URLs
    use `open_checkpointer`.
    """
    if url.startswith(("postgresql://", "postgres://")):
        async with _postgres(url, timeout_s, max_connections) as opened:
            yield opened
        return
    async with open_checkpointer(url) as saver:
        if isinstance(saver, AsyncSqliteSaver):
            yield ServerCheckpointer(saver, partial(_sqlite_ping, saver))
        else:
            yield ServerCheckpointer(saver, _nothing)


async def _sqlite_ping(saver: AsyncSqliteSaver) -> None:
    async with saver.conn.execute("SELECT 1") as cursor:
        await cursor.fetchone()


@asynccontextmanager
async def _postgres(
    url: str, timeout_s: float, max_connections: int
) -> AsyncIterator[ServerCheckpointer]:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg import AsyncConnection
    from psycopg.rows import DictRow, dict_row
    from psycopg_pool import AsyncConnectionPool

    kwargs: dict[str, Any] = {
        "autocommit": True,
        "prepare_threshold": 0,
        "row_factory": dict_row,
        "connect_timeout": max(1, round(timeout_s)),
    }
    pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
        url,
        kwargs=kwargs,
        min_size=1,
        max_size=max_connections,
        timeout=timeout_s,
        reconnect_timeout=timeout_s,  # give up soon; the next request grows the pool again
        check=AsyncConnectionPool.check_connection,
        open=False,
    )
    await pool.open(wait=True, timeout=timeout_s)

    async def ping() -> None:
        async with pool.connection(timeout=timeout_s) as connection:
            await connection.execute("SELECT 1")

    try:
        saver = AsyncPostgresSaver(conn=pool)
        await saver.setup()
        yield ServerCheckpointer(saver, ping)
    finally:
        await pool.close()
