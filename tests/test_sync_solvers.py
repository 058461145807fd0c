"""Synchronous solvers (the README's style) run in worker threads: independent subtasks
overlap, and a finished one is checkpointed while the other is still running."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from trifecta import Trifecta, Verdict
from trifecta.specialists import Candidate, FunctionSolver, Job, Specialist

WAIT_S = 15.0  # a bound on waiting for the other thread, never a measured duration


def _specialist(name: str, solve: FunctionSolver) -> Specialist:
    def verify(job: Job, candidate: Candidate) -> Verdict:
        ok = candidate.answer.startswith("ok")
        return Verdict("verified" if ok else "rejected", f"{name} check")

    return Specialist(
        name=name,
        description=f"Handles clauses starting with {name}.",
        tiers=[solve],
        verify=verify,
        affinity=lambda clause: 1.0 if clause.lower().startswith(name) else 0.0,
    )


async def test_independent_sync_solvers_overlap() -> None:
    both = threading.Barrier(2, timeout=WAIT_S)  # passes only if both solvers wait at once
    seen: list[str] = []

    def meet(job: Job) -> str:
        both.wait()
        seen.append(threading.current_thread().name)
        return f"ok {job.instruction}"

    app = Trifecta(
        [_specialist("left", FunctionSolver(meet)), _specialist("right", FunctionSolver(meet))]
    )
    result = await app.arun("Left one. Right two.")
    assert [s["status"] for s in result.subtasks] == ["verified", "verified"], result.subtasks
    assert len(set(seen)) == 2  # two worker threads, neither the event loop's


async def test_a_finished_subtask_is_checkpointed_while_a_sync_solver_runs(tmp_path: Path) -> None:
    path = tmp_path / "cp.sqlite"

    def quick(job: Job) -> str:
        return "ok quick"

    def stored(thread: str) -> bool:
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                rows = db.execute(
                    "SELECT COUNT(*) FROM writes WHERE thread_id = ? AND channel = 'results'",
                    (thread,),
                ).fetchone()
        except sqlite3.OperationalError:  # not created yet, or locked by the writer
            return False
        return bool(rows[0])

    def patient(job: Job) -> str:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if stored("watched"):
                return "ok: the other result was checkpointed while this ran"
            time.sleep(0.02)
        return "not checkpointed while this ran"

    app = Trifecta(
        [
            _specialist("quick", FunctionSolver(quick)),
            _specialist("patient", FunctionSolver(patient)),
        ],
        checkpoint=f"sqlite:///{path}",
    )
    result = await app.arun("Quick one. Patient two.", thread_id="watched")
    assert [s["answer"] for s in result.subtasks] == [
        "ok quick",
        "ok: the other result was checkpointed while this ran",
    ]
