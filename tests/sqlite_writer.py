"""A real SQLite file for the SQL tier-0 tests: build it from a script, get the writer of
it, and run what the writer wrote through the SQL checker."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

from trifecta.specialists.sql import Database, Writer, connect, run_checked

__all__ = ["answer", "sqlite_writer"]


def sqlite_writer(root: Path, script: str) -> tuple[Database, Writer]:
    """The connected database `script` builds in a new file under `root`, and its writer."""
    path = root / f"db_{uuid.uuid4().hex[:8]}.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
    conn.close()
    db = connect(f"sqlite:///{path}")
    return db, Writer.of(db)


def answer(db: Database, writer: Writer, question: str) -> list[tuple[Any, ...]] | None:
    """The rows the writer's query returns, checked; None when the writer declines."""
    sql = writer.write(question)
    if sql is None:
        return None
    outcome = run_checked(db, sql)
    assert outcome.status == "checked", (question, sql, outcome.errors)
    return [tuple(r) for r in outcome.data["rows"]]
