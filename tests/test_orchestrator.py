"""The orchestrator end to end with scripted models (no network)."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes import by_schema, merger_text, plan, scripted, upper_specialist
from trifecta import Budget, Limits, Trifecta
from trifecta.agents import ModelMerger, ModelPlanner, RulePlanner
from trifecta.models import Message, ModelTimeout, Price
from trifecta.specialists import Candidate, FunctionSolver, Job, Specialist
from trifecta.specialists.math import math_specialist
from trifecta.testing import CallInfo, FunctionModel
from trifecta.verdict import Verdict

WORD_PROBLEM = "Tom has 3 boxes of 12 apples and eats 5. How many apples are left"


def app_with(planner_model: FunctionModel, *specialists: Specialist, **kwargs: object) -> Trifecta:
    return Trifecta(list(specialists), planner=ModelPlanner(planner_model), **kwargs)  # type: ignore[arg-type]


async def test_good_plan_fills_references_and_model_merger_cites() -> None:
    planner = by_schema({
        "plan": lambda m, i: plan(("t1", "upper", "hello"), ("t2", "upper", "and $t1 again")),
        None: merger_text,
    })  # fmt: skip
    app = Trifecta([upper_specialist()], planner=ModelPlanner(planner), merger=ModelMerger(planner))
    result = await app.arun("shout twice")
    rows = {r["id"]: r for r in result.subtasks}
    assert rows["t2"]["instruction"] == "and HELLO again"
    assert rows["t2"]["answer"] == "AND HELLO AGAIN"
    assert result.ok and result.answer == "Merged: [t1] [t2]"
    assert result.report["model_calls"] == 2 and result.report["tokens_in"] > 0


async def test_malformed_json_is_sent_back_then_repaired() -> None:
    planner = scripted(["Sure! I'd plan it like so.", plan(("t1", "upper", "x"))])
    result = await app_with(planner, upper_specialist()).arun("do x")
    assert result.ok
    assert "not JSON" in planner.calls[1][-1].content


@pytest.mark.parametrize(
    ("bad", "quoted"),
    [
        (
            plan(("a", "upper", "x", ["b"]), ("b", "upper", "y", ["a"])),
            "dependency cycle: a -> b -> a",
        ),
        (plan(("a", "poetry", "x")), "unknown specialist 'poetry'"),
        (plan(("a", "upper", "use $zz")), "references $'zz'"),
    ],
)
async def test_invalid_plan_goes_back_with_its_error(bad: dict[str, object], quoted: str) -> None:
    planner = scripted([bad, plan(("t1", "upper", "fixed"))])
    result = await app_with(planner, upper_specialist()).arun("req")
    assert result.ok and result.subtasks[0]["answer"] == "FIXED"
    assert quoted in planner.calls[1][-1].content


async def test_planner_gives_up_after_its_budget_with_a_clear_failure() -> None:
    planner = scripted(["prose"] * 3)
    result = await app_with(planner, upper_specialist()).arun("req")
    assert not result.ok and result.subtasks == []
    assert result.error is not None and "no valid plan after 3 attempts" in result.error
    assert result.answer.startswith("Could not answer: could not plan the request")


async def test_math_model_slips_twice_then_repairs() -> None:
    def claims(answer: str) -> dict[str, object]:
        return {
            "answer": answer,
            "claims": [{"id": "s1", "kind": "value", "expr": "3*12 - 5", "answer": answer}],
        }

    solver = scripted([claims("30"), claims("41"), claims("31")], name="small")
    planner = scripted([plan(("t1", "math", WORD_PROBLEM))])
    result = await app_with(planner, math_specialist([solver])).arun(WORD_PROBLEM)
    row = result.subtasks[0]
    assert (row["status"], row["answer"], row["tier"], row["attempts"]) == ("checked", "31", 1, 4)
    repair = solver.calls[1][-1].content
    assert "failed verification" in repair and "3*12 - 5 = 30" in repair and "31" in repair


async def test_wrong_answer_after_all_attempts_is_rejected_and_flagged() -> None:
    wrong = {
        "answer": "30",
        "claims": [{"id": "s1", "kind": "value", "expr": "3*12-5", "answer": "30"}],
    }
    solver = scripted([wrong] * 3, name="small")
    planner = scripted([plan(("t1", "math", WORD_PROBLEM))])
    app = Trifecta(
        [math_specialist([solver])], planner=ModelPlanner(planner), limits=Limits(max_replans=0)
    )
    result = await app.arun(WORD_PROBLEM)
    assert result.subtasks[0]["status"] == "rejected"
    assert "Not verified (do not rely on these)" in result.answer and "[t1]" in result.answer
    assert "→ 30" not in result.answer


async def test_timeout_escalates_to_the_next_tier() -> None:
    def slow(messages: list[Message], info: CallInfo) -> str:
        raise ModelTimeout("small: timed out after 30s")

    good = scripted(
        [{"answer": "31", "claims": [{"kind": "value", "expr": "3*12-5", "answer": "31"}]}],
        name="big",
    )
    planner = scripted([plan(("t1", "math", WORD_PROBLEM))])
    small = FunctionModel(slow, name="small")
    result = await app_with(planner, math_specialist([small, good])).arun(WORD_PROBLEM)
    row = result.subtasks[0]
    assert (row["status"], row["solver"], row["tier"]) == ("checked", "big", 2)
    assert "tier 1 (small) attempt 1: model failed: small: timed out after 30s" in row["evidence"]
    failed = [e for e in result.ledger if e["model"] == "small" and e["kind"] == "model"]
    assert failed and failed[0]["detail"].startswith("error: small: timed out")


async def test_token_budget_stops_the_run_with_a_partial_answer() -> None:
    reply = {"answer": "31", "claims": [{"kind": "value", "expr": "3*12-5", "answer": "31"}]}
    chain = plan(
        ("t1", "math", WORD_PROBLEM),
        ("t2", "math", f"Then: {WORD_PROBLEM}", ["t1"]),
        ("t3", "math", "Integrate x^2 from 0 to 3", ["t2"]),
    )

    def app() -> Trifecta:
        solver = FunctionModel(lambda m, i: reply, name="small")
        return app_with(scripted([chain]), math_specialist([solver]))

    unlimited = await app().arun(WORD_PROBLEM)
    assert unlimited.ok
    spent = [e["tokens_in"] + e["tokens_out"] for e in unlimited.ledger if e["kind"] == "model"]
    budget = Budget(max_tokens=spent[0] + spent[1] + 10)  # the plan and t1's call, not t2's
    result = await app().arun(WORD_PROBLEM, budget=budget)
    status = {r["id"]: r["status"] for r in result.subtasks}
    assert status == {"t1": "checked", "t2": "unverifiable", "t3": "unverifiable"}
    assert result.stopped is not None and "token budget exhausted" in result.stopped
    assert result.answer.startswith("Stopped early: token budget exhausted")
    assert "→ 31 [t1: checked]" in result.answer
    assert "token budget" in result.subtasks[1]["errors"][0]["message"]
    assert "depends on t2" in result.subtasks[2]["errors"][0]["message"]
    assert result.report["tokens_in"] + result.report["tokens_out"] <= budget.max_tokens  # type: ignore[operator]


async def test_wall_time_budget_cuts_a_slow_model() -> None:
    slow = FunctionModel(lambda m, i: {"answer": "1", "claims": []}, name="slow", latency=30)
    planner = scripted([plan(("t1", "math", WORD_PROBLEM))])
    result = await app_with(planner, math_specialist([slow])).arun(
        "q", budget=Budget(max_wall_s=0.5)
    )
    assert result.subtasks[0]["status"] == "unverifiable"
    assert result.stopped is not None and "time budget exhausted" in result.stopped


async def test_independent_subtasks_run_in_parallel() -> None:
    running, peak = 0, 0

    async def solve(job: Job) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        return job.instruction.upper()

    spec = Specialist(
        "slow", "slow", [FunctionSolver(solve)], lambda j, c: Verdict("verified", "ok")
    )
    planner = scripted([plan(*[(f"t{i}", "slow", f"item {i}") for i in range(8)])])
    result = await app_with(planner, spec).arun("eight things")
    assert result.ok and len(result.subtasks) == 8
    assert peak == 8


def _never(job: Job) -> Candidate:
    return Candidate("42", {})


async def test_failed_subtask_is_replanned_to_the_next_best_specialist() -> None:
    liar = Specialist(
        "liar",
        "always wrong",
        [FunctionSolver(_never)],
        lambda j, c: Verdict("rejected", "no"),
        affinity=lambda c: 0.9,
    )
    app = Trifecta([liar, upper_specialist()], planner=RulePlanner())
    result = await app.arun("make this loud")
    status = {r["id"]: (r["specialist"], r["status"]) for r in result.subtasks}
    assert status == {"t1": ("liar", "rejected"), "t1_2": ("upper", "verified")}
    assert "MAKE THIS LOUD [t1_2: verified]" in result.answer
    assert "- [t1]" not in result.answer and result.ok  # the re-plan answered the sentence


async def test_dependent_of_a_failed_subtask_is_not_run_and_says_why() -> None:
    liar = Specialist(
        "liar", "always wrong", [FunctionSolver(_never)], lambda j, c: Verdict("rejected", "no")
    )
    planner = scripted([plan(("t1", "liar", "x"), ("t2", "upper", "use $t1"))])
    calls: list[str] = []
    app = Trifecta(
        [liar, upper_specialist(calls=calls)],
        planner=ModelPlanner(planner),
        limits=Limits(max_replans=0),
    )
    result = await app.arun("req")
    assert calls == []
    assert "- [t2] use $t1: not run (depends on t1, not verified)" in result.answer


async def test_verifier_exception_is_a_label_not_a_crash() -> None:
    def broken(job: Job, candidate: Candidate) -> Verdict:
        raise ZeroDivisionError("oops")

    spec = Specialist("b", "broken", [FunctionSolver(lambda j: "x")], broken)
    app = app_with(scripted([plan(("t1", "b", "go"))]), spec, limits=Limits(max_replans=0))
    result = await app.arun("go")
    assert result.subtasks[0]["status"] == "unverifiable"
    assert "ZeroDivisionError" in result.subtasks[0]["errors"][0]["message"]


async def test_cost_budget_stops_before_a_call_it_cannot_afford() -> None:
    reply = {"answer": "31", "claims": [{"kind": "value", "expr": "3*12-5", "answer": "31"}]}
    pricey = FunctionModel(lambda m, i: reply, name="pricey", price=Price(1000.0, 1000.0))
    planner = scripted([plan(("t1", "math", WORD_PROBLEM))])
    result = await app_with(planner, math_specialist([pricey])).arun(
        "q", budget=Budget(max_cost_usd=0.01)
    )
    assert result.stopped is not None and "cost budget exhausted" in result.stopped
    assert pricey.calls == [] and result.report["cost_usd"] == 0.0


async def test_solver_exception_escalates_to_the_next_tier() -> None:
    def broken(job: Job) -> str:
        raise ValueError("bug in a user's solver")

    spec = Specialist(
        "s",
        "two tiers",
        [FunctionSolver(broken, name="broken"), FunctionSolver(lambda j: "ok", name="fallback")],
        lambda j, c: Verdict("verified", "ok"),
    )
    result = await app_with(scripted([plan(("t1", "s", "go"))]), spec).arun("go")
    row = result.subtasks[0]
    assert (row["status"], row["solver"], row["tier"]) == ("verified", "fallback", 1)
    assert row["evidence"][:2] == [
        'tier 0 (broken) attempt 1: solver error: ValueError("bug in a user\'s solver")',
        "tier 1 (fallback) attempt 1: verified (ok)",
    ]


async def test_planner_falls_back_to_rules_when_the_model_cannot_plan() -> None:
    planner = ModelPlanner(scripted(["prose"] * 3), fallback=RulePlanner())
    result = await Trifecta([math_specialist()], planner=planner).arun("What is 2^10 + 3?")
    assert result.ok and result.subtasks[0]["answer"] == "1027"
    failing = ModelPlanner(scripted(["prose"] * 3), fallback=RulePlanner())
    broken = await Trifecta([math_specialist()], planner=failing).arun("Bonjour tout le monde")
    assert (
        broken.error is not None
        and "not JSON" in broken.error
        and "fallback: no specialist recognises" in broken.error
    )


async def test_a_merger_that_invents_a_number_is_not_used() -> None:
    planner = by_schema(
        {
            "plan": lambda m, i: plan(("t1", "upper", "ship 12 boxes")),
            None: lambda m, i: "[t1] You must ship 80 boxes.",
        }
    )
    app = Trifecta([upper_specialist()], planner=ModelPlanner(planner), merger=ModelMerger(planner))
    result = await app.arun("ship them")
    assert result.answer.startswith("ship 12 boxes → SHIP 12 BOXES [t1: verified]")
    assert "the number 80 is in no verified result" in result.answer


async def test_a_merger_that_drops_a_verified_result_is_not_used() -> None:
    planner = by_schema(
        {
            "plan": lambda m, i: plan(("t1", "upper", "a"), ("t2", "upper", "b")),
            None: lambda m, i: "Only [t1] matters.",
        }
    )
    result = await Trifecta(
        [upper_specialist()], planner=ModelPlanner(planner), merger=ModelMerger(planner)
    ).arun("x")
    assert "does not cite [t2]" in result.answer and "b → B [t2: verified]" in result.answer
