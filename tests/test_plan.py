"""Plan schema and validation, driven by tests/fixtures/plans.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trifecta.plan import Plan, PlanError, fill_references, parse_plan, references, validate_plan

CASES = json.loads((Path(__file__).parent / "fixtures" / "plans.json").read_text())
SPECIALISTS = ["math", "sql", "rag"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_plan_fixture(case: dict[str, Any]) -> None:
    try:
        specs = validate_plan(parse_plan(case["plan"]), SPECIALISTS, max_subtasks=10)
    except PlanError as exc:
        assert case["errors"], f"unexpected rejection: {exc.errors}"
        for expected in case["errors"]:
            assert any(expected in e for e in exc.errors), (expected, exc.errors)
        return
    assert not case["errors"], f"accepted a plan that should fail: {case['name']}"
    assert {s["id"]: s["depends_on"] for s in specs} == case["deps"]


def test_cap_on_plan_size_is_explained() -> None:
    tasks = [{"id": f"t{i}", "specialist": "math", "instruction": "1+1"} for i in range(10_000)]
    with pytest.raises(PlanError, match="10000 subtasks; the limit is 64"):
        validate_plan(Plan.model_validate({"subtasks": tasks}), SPECIALISTS, max_subtasks=64)


def test_replan_may_depend_on_done_ids_but_not_reuse_them() -> None:
    plan = parse_plan({"subtasks": [{"id": "t2", "specialist": "math", "instruction": "$t1 + 1"}]})
    assert validate_plan(plan, SPECIALISTS, max_subtasks=5, done=["t1"])[0]["depends_on"] == ["t1"]
    with pytest.raises(PlanError, match="already used"):
        validate_plan(plan, SPECIALISTS, max_subtasks=5, done=["t2"])


def test_references_and_filling() -> None:
    text = "add $t1 to $t2_b, price $$X"
    assert references(text) == ["t1", "t2_b"]
    assert fill_references(text, {"t1": "3", "t2_b": "4"}) == "add 3 to 4, price $X"
