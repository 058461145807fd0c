"""Privacy pinning: a sensitive request never reaches a cloud model."""

from __future__ import annotations

import pytest

from tests.fakes import merger_text, plan
from trifecta import Trifecta
from trifecta.agents import ModelMerger, ModelPlanner, RulePlanner
from trifecta.privacy import find_sensitive
from trifecta.specialists.math import math_specialist
from trifecta.testing import FunctionModel

WORD = "Solve the equation for the apples left: Tom has 3 boxes of 12 apples and eats 5"
CLAIMS = {"answer": "31", "claims": [{"kind": "value", "expr": "3*12-5", "answer": "31"}]}


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("write to ada@example.org please", ["email"]),
        ("card 4111 1111 1111 1111 expires soon", ["card"]),
        ("card 4111 1111 1111 1112 (not Luhn-valid)", []),
        ("IBAN DE89 3704 0044 0532 0130 00", ["iban"]),
        ("call 555 4111 1111 1111 1111", ["card"]),  # digits before the card
        ("Ref 1 4111-1111-1111-1111", ["card"]),
        ("IBAN DE89370400440532013000 unspaced", ["iban"]),
        ("GB82WEST12345698765432", ["iban"]),
        ("code AB12CDEFGHIJKLMNOP fails the IBAN check", []),
        ("what is 15% of 80", []),
    ],
)
def test_detector(text: str, kinds: list[str]) -> None:
    assert find_sensitive(text) == kinds
    assert find_sensitive("project falcon budget", [r"\bfalcon\b"]) == [r"pattern:\bfalcon\b"]


def _cloud_generalist() -> FunctionModel:
    routes = {"plan": lambda m, i: plan(("t1", "math", WORD)), None: merger_text}
    return FunctionModel(lambda m, i: routes[i.schema_name](m, i), name="planner", privacy="cloud")


def _app(*models: FunctionModel, generalist: FunctionModel | None = None) -> Trifecta:
    planner = generalist or _cloud_generalist()
    return Trifecta(
        [math_specialist(list(models))],
        planner=ModelPlanner(planner, fallback=RulePlanner()),
        merger=ModelMerger(planner),
    )


async def test_sensitive_subtask_with_only_cloud_models_fails_clearly() -> None:
    cloud = FunctionModel(lambda m, i: CLAIMS, name="cloud-big", privacy="cloud")
    result = await _app(cloud).arun(f"{WORD}, and mail tom@example.org")
    assert cloud.calls == []
    row = result.subtasks[0]
    assert row["status"] == "unverifiable"
    assert row["errors"][-1]["message"] == (
        "this run is sensitive (email) and no local tier could serve it; "
        "cloud models not used: cloud-big"
    )
    routes = [e["route"]["solver"] for e in result.ledger if e["kind"] == "route"]
    assert routes == ["sympy"]  # the cloud tier was never chosen


async def test_sensitive_subtask_goes_to_the_local_model() -> None:
    cloud = FunctionModel(lambda m, i: CLAIMS, name="cloud-big", privacy="cloud")
    local = FunctionModel(lambda m, i: CLAIMS, name="local-small", privacy="local")
    generalist = _cloud_generalist()
    result = await _app(cloud, local, generalist=generalist).arun(WORD, sensitive=True)
    row = result.subtasks[0]
    assert (row["status"], row["solver"], row["answer"]) == ("checked", "local-small", "31")
    assert cloud.calls == [] and len(local.calls) == 1
    assert generalist.calls == []  # planned by rules and merged by the template, not the cloud
    assert "→ 31 [t1: checked]" in result.answer
    assert "planner is a cloud model and this run is sensitive" in result.answer


async def test_without_sensitivity_the_cheapest_tier_answers() -> None:
    cloud = FunctionModel(lambda m, i: CLAIMS, name="cloud-big", privacy="cloud")
    result = await _app(cloud).arun(WORD)
    assert result.subtasks[0]["solver"] == "cloud-big" and len(cloud.calls) == 1
