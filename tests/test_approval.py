"""Approval gates pause a run (LangGraph `interrupt()`) and `aresume(resume=...)`
continues it, through the SQLite and PostgreSQL checkpointers."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from tests.fakes import SHOP_SQL
from tests.net import PG_URL
from trifecta import Trifecta
from trifecta.errors import UserError
from trifecta.ledger import Budget, Ledger
from trifecta.models import Message, Price
from trifecta.specialists import Candidate, CannotSolve, FunctionSolver, Job, Specialist
from trifecta.specialists.sql import sql_specialist
from trifecta.testing import FunctionModel
from trifecta.verdict import Verdict, check_error


@pytest.fixture(params=["sqlite", "postgres"])
def checkpoint(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return PG_URL if request.param == "postgres" else f"sqlite:///{tmp_path / 'cp.sqlite'}"


class _Ask:
    """A model tier (through the ledger, so privacy and budgets apply)."""

    repairable = False

    def __init__(self, model: FunctionModel) -> None:
        self.model, self.name = model, model.name

    async def solve(self, job: Job, ledger: Ledger) -> Candidate:
        reply = await ledger.call(self.model, [Message("user", job.instruction)], node="ask")
        return Candidate(answer=reply.text)


def _cannot(job: Job) -> str:
    raise CannotSolve("no rule for this")


def _app(model: FunctionModel, checkpoint: str, **kw: object) -> Trifecta:
    spec = Specialist(
        "ask",
        "Answers anything.",
        [FunctionSolver(_cannot, name="rules"), _Ask(model)],
        lambda j, c: Verdict("verified", "trusted"),
        affinity=lambda c: 1.0,
    )
    return Trifecta([spec], checkpoint=checkpoint, **kw)  # type: ignore[arg-type]


def _cloud() -> FunctionModel:
    return FunctionModel(lambda m, i: "FROM THE CLOUD", name="big", privacy="cloud")


@pytest.mark.parametrize(("answer", "called"), [("yes", True), ("no", False)])
async def test_the_cloud_gate_asks_before_a_cloud_model_runs(
    checkpoint: str, answer: str, called: bool
) -> None:
    model = _cloud()
    app = _app(model, checkpoint, approve=["cloud"])
    thread = f"cloud-{uuid.uuid4().hex[:8]}"
    paused = await app.arun("Say it.", thread_id=thread)
    assert paused.pending and model.calls == []
    (asked,) = paused.interrupts
    assert asked["gate"] == "cloud" and "cloud model big" in asked["question"]
    assert asked["subtask"] == "t1" and asked["why"]
    stored = await app.state(thread)
    assert stored is not None and stored.interrupts == paused.interrupts
    done = await app.aresume(thread, resume=answer)
    assert not done.pending and bool(model.calls) is called
    status = done.subtasks[0]["status"]
    assert status == ("verified" if called else "unverifiable")
    if not called:
        assert "declined" in " ".join(done.subtasks[0]["evidence"])


async def test_without_the_gate_nothing_pauses(tmp_path: Path) -> None:
    model = _cloud()
    result = await _app(model, f"sqlite:///{tmp_path / 'c.sqlite'}").arun("Say it.")
    assert not result.pending and result.interrupts == [] and len(model.calls) == 1


@pytest.mark.parametrize(("answer", "finished"), [(True, True), ("no thanks", False)])
async def test_the_budget_gate_asks_before_going_over(
    checkpoint: str, answer: object, finished: bool
) -> None:
    model = FunctionModel(lambda m, i: "PAID", name="paid", price=Price(5.0, 5.0))
    app = _app(model, checkpoint, approve=["budget"], budget=Budget(max_cost_usd=0.0))
    thread = f"budget-{uuid.uuid4().hex[:8]}"
    paused = await app.arun("Say it.", thread_id=thread)
    (asked,) = paused.interrupts
    assert asked["gate"] == "budget" and "cost budget exhausted" in asked["why"]
    assert model.calls == []
    done = await app.aresume(thread, resume=answer)
    assert not done.pending
    if finished:
        assert done.stopped is None and done.subtasks[0]["answer"] == "PAID"
    else:
        assert "cost budget exhausted" in (done.stopped or "") and model.calls == []


@pytest.mark.parametrize(("answer", "status"), [("approve", "checked"), ("n", "unverifiable")])
async def test_the_sql_gate_shows_the_query_before_it_runs(
    checkpoint: str, tmp_path: Path, answer: str, status: str
) -> None:
    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(SHOP_SQL)
    app = Trifecta([sql_specialist(f"sqlite:///{db}", approve=True)], checkpoint=checkpoint)
    thread = f"sql-{uuid.uuid4().hex[:8]}"
    paused = await app.arun("How many customers are there?", thread_id=thread)
    (asked,) = paused.interrupts
    assert asked["gate"] == "sql" and "SELECT" in asked["question"].upper()
    done = await app.aresume(thread, resume=answer)
    row = done.subtasks[0]
    assert row["status"] == status
    assert (row["answer"] == "3") is (status == "checked")


def test_gates_are_checked_when_the_orchestrator_is_built() -> None:
    with pytest.raises(UserError, match="unknown approval gate"):
        Trifecta([], approve=["clould"])  # type: ignore[list-item]
    with pytest.raises(UserError, match="sql gate belongs to the SQL specialist"):
        Trifecta([], approve=["sql"])


async def test_an_approval_covers_only_the_query_it_was_shown(tmp_path: Path) -> None:
    """LangGraph re-runs the node on resume and the model writes another query: the
    approval of the first does not let the second run; the second is asked anew."""
    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(SHOP_SQL)
    queries = ["SELECT count(*) AS n FROM orders", "SELECT name FROM customers"]

    def write(messages: list[Message], info: object) -> dict[str, str]:
        return {"sql": queries[0] if len(model.calls) <= 1 else queries[1]}

    model = FunctionModel(write, name="writer")
    app = Trifecta(
        [sql_specialist(f"sqlite:///{db}", [model], approve=True, confirm=False)],
        checkpoint=f"sqlite:///{tmp_path / 'cp.sqlite'}",
    )
    first = await app.arun("Summarise the customers table for me.", thread_id="swap")
    assert queries[0] in first.interrupts[0]["question"]
    second = await app.aresume("swap", resume="yes")
    assert second.pending and queries[1] in second.interrupts[0]["question"]
    assert second.subtasks[0]["status"] != "checked"  # the unapproved query did not run
    third = await app.aresume("swap", resume="no")
    assert not third.pending and third.subtasks[0]["status"] == "unverifiable"
    assert "Ada" not in third.answer


async def test_what_a_paused_step_paid_before_asking_is_counted_on_resume(tmp_path: Path) -> None:
    """LangGraph re-runs the paused node: the calls it made before the question are
    paid twice; the ledger keeps both and the thread budget sees them."""
    first = FunctionModel(lambda m, i: "WRONG", name="a", privacy="cloud", price=Price(1e5, 0))
    second = FunctionModel(lambda m, i: "RIGHT", name="b", privacy="cloud", price=Price(1e5, 0))

    def right(job: Job, candidate: Candidate) -> Verdict:
        if candidate.answer == "RIGHT":
            return Verdict("verified", "t")
        return Verdict("rejected", "t", errors=(check_error("x", "wrong"),))

    spec = Specialist("ask", "a", [_Ask(first), _Ask(second)], right, affinity=lambda c: 1.0)
    app = Trifecta(
        [spec],
        approve=["cloud"],
        thread_budget=Budget(max_cost_usd=0.5),  # each call costs $0.20
        checkpoint=f"sqlite:///{tmp_path / 'cp.sqlite'}",
    )
    result = await app.arun("Say it.", thread_id="paid")
    while result.interrupts:
        result = await app.aresume("paid", resume="yes")
    calls = [e for e in result.ledger if e["kind"] == "model"]
    assert [e["model"] for e in calls] == ["a", "a"] and len(first.calls) == 2
    assert second.calls == [] and "thread cost budget exhausted" in (result.stopped or "")
    assert result.report["cost_usd"] == pytest.approx(0.4)


async def test_answers_in_a_list_follow_the_order_the_questions_were_listed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(SHOP_SQL)
    app = Trifecta(
        [sql_specialist(f"sqlite:///{db}", approve=True)],
        checkpoint=f"sqlite:///{tmp_path / 'cp.sqlite'}",
    )
    for round_ in range(4):  # the steps pause in any order; the listing must match it
        thread = f"two-{round_}"
        paused = await app.arun(
            "How many orders are there? How many customers are there?", thread_id=thread
        )
        yes, no = (q["subtask"] for q in paused.interrupts)
        done = await app.aresume(thread, resume=["yes", "no"])
        status = {s["id"]: s["status"] for s in done.subtasks}
        assert (status[yes], status[no]) == ("checked", "unverifiable")
