"""Checkpointing: a crashed run resumes from its last checkpoint, in SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from tests.fakes import Crash, flaky, plan, scripted, upper_specialist
from tests.net import PG_URL
from trifecta import RequestError, Trifecta
from trifecta.agents import ModelPlanner


async def _crash_then_resume(url: str) -> None:
    thread = uuid.uuid4().hex
    calls: list[str] = []
    chain = plan(("t1", "upper", "first"), ("t2", "flaky", "after $t1"))
    first = Trifecta(
        [upper_specialist(calls=calls), flaky([True])],
        planner=ModelPlanner(scripted([chain])),
        checkpoint=url,
    )
    with pytest.raises(Crash):
        await first.arun("two steps", thread_id=thread)
    with pytest.raises(RequestError, match="already holds a run; resume it"):
        await first.arun("again", thread_id=thread)

    # A new process: fresh objects, same store; the planner must not be asked again.
    second = Trifecta(
        [upper_specialist(calls=calls), flaky([])],
        planner=ModelPlanner(scripted([])),
        checkpoint=url,
    )
    result = await second.aresume(thread)
    assert result.ok
    assert [r["answer"] for r in result.subtasks] == ["FIRST", "done: after FIRST"]
    assert calls == ["first"]  # t1 ran once, before the crash
    again = await second.aresume(thread)  # finished: returned as it is
    assert again.answer == result.answer


async def test_sqlite_checkpoint_resume(tmp_path: Path) -> None:
    await _crash_then_resume(f"sqlite:///{tmp_path / 'cp' / 'checkpoints.sqlite'}")
    assert (tmp_path / "cp" / "checkpoints.sqlite").stat().st_size > 0


async def test_postgres_checkpoint_resume() -> None:
    await _crash_then_resume(PG_URL)
    with psycopg.connect(PG_URL) as conn:
        count = conn.execute("SELECT count(*) FROM checkpoints").fetchone()
    assert count is not None and count[0] > 0


async def test_resume_of_unknown_thread_is_a_clear_error(tmp_path: Path) -> None:
    app = Trifecta([upper_specialist()], checkpoint=f"sqlite:///{tmp_path / 'c.sqlite'}")
    with pytest.raises(RequestError, match="no run with thread id 'nope'"):
        await app.aresume("nope")
