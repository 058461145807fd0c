"""The math, SQL and RAG specialists' deterministic parts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trifecta import Trifecta
from trifecta.graphs import run_specialist
from trifecta.ledger import Ledger
from trifecta.sandbox import IsolatedTimeout, run_isolated
from trifecta.specialists.math import check_claim, math_specialist
from trifecta.testing import FunctionModel

CLAIMS = json.loads((Path(__file__).parent / "fixtures" / "claims.json").read_text())


def _claim_id(case: dict[str, Any]) -> str:
    claim = case["claim"]
    return f"{claim['kind']}:{claim['expr']}={claim.get('answer')}"[:80]


@pytest.mark.parametrize("case", CLAIMS, ids=[_claim_id(c) for c in CLAIMS])
def test_claim_fixture(case: dict[str, Any]) -> None:
    outcome = check_claim(case["claim"])
    assert outcome.status == case["status"], outcome
    assert case["method"] in outcome.method
    assert bool(outcome.errors) == (case["status"] != "verified")


def _spin(seconds: float) -> int:
    while True:
        pass


def test_sandbox_kills_a_runaway_worker() -> None:
    with pytest.raises(IsolatedTimeout, match=r"gave up after 0\.3s"):
        run_isolated(_spin, 1.0, timeout=0.3)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Integrate x^2 from 0 to 3", "9"),
        ("solve 2x + 3 = 11", "[4]"),
        ("what is 15% of 80", "12"),
        ("derivative of x*sin(x)", "x*cos(x) + sin(x)"),
        ("limit of sin(x)/x as x -> 0", "1"),
        ("Taylor series of sin(x) around x = 0 up to x^5", "x**5/120 - x**3/6 + x"),
        ("Solve x + y = 3 and x - y = 1", "[(2, 1)]"),
        ("factor x^2 - 5x + 6", "(x - 3)*(x - 2)"),
        ("expand (x+1)^3", "x**3 + 3*x**2 + 3*x + 1"),
        ("What is 12.5% of 64?", "8"),
        ("Compute 3/4 + 1/6", "11/12"),
        ("simplify sin(x)**2 + cos(x)**2", "1"),
    ],
)
async def test_math_tier0_verifies_formal_requests(question: str, answer: str) -> None:
    outcome = await run_specialist(math_specialist(), "t1", question, Ledger())
    assert (outcome.result["status"], outcome.result["answer"], outcome.result["tier"]) == (
        "verified",
        answer,
        0,
    )


async def test_math_tier0_gives_up_on_an_overlong_computation_within_its_timeout() -> None:
    outcome = await run_specialist(
        math_specialist(timeout=0.5),
        "t1",
        "integrate exp(x**2)*sin(x**3)/(1+x**7) from 2 to 3",
        Ledger(),
    )
    assert outcome.result["status"] == "unverifiable"
    assert "gave up after 0.5s" in outcome.result["errors"][0]["message"]


async def test_a_model_claim_beyond_float_range_is_never_checked() -> None:
    """The review's end-to-end false accept: ``2^2000 = 5`` once came back ``checked``."""
    lie = {"answer": "5", "claims": [{"kind": "value", "expr": "2^2000", "answer": "5"}]}
    model = FunctionModel(lambda m, i: lie, name="liar")
    word = "Solve the equation for the apples left: Tom has 3 boxes of 12 apples and eats 5"
    result = await Trifecta([math_specialist([model])]).arun(word)
    row = result.subtasks[0]
    assert model.calls and row["status"] == "rejected" and not result.ok
    assert "→ 5" not in result.answer and "is not 5" in row["errors"][0]["message"]
