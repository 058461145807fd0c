"""The model registry: chains per role from TOML, cheapest first, escalation on failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes import APPLES, big_model, math_claims, two_models
from trifecta import ConfigError, Trifecta, load_config
from trifecta.testing import Scripted, completion, serve_openai


async def test_cheap_model_escalates_to_the_expensive_one(tmp_path: Path) -> None:
    with serve_openai(lambda body: math_claims("30")) as cheap, serve_openai(big_model) as big:
        routing = '[routing]\nplanner = "big"\nmerger = "big"\nmath = ["cheap", "big"]'
        extra = 'model = "small-1b"\nprivacy = "local"'
        (tmp_path / "trifecta.toml").write_text(
            two_models(cheap.url, big.url, routing, cheap_extra=extra)
        )
        config = load_config(tmp_path / "trifecta.toml", env={}, data_dir=tmp_path)
        app = Trifecta.from_config(config)
        assert [t.name for t in app.specialists[0].tiers] == ["sympy", "small-1b", "big"]
        result = await app.arun(APPLES)
    row = result.subtasks[0]
    assert (row["status"], row["solver"], row["tier"], row["answer"]) == ("checked", "big", 2, "31")
    assert any("tier 1 (small-1b) attempt 3: rejected" in e for e in row["evidence"])
    calls = [(e["model"], e["node"]) for e in result.ledger if e["kind"] == "model"]
    assert calls == [
        ("big", "plan"),
        ("small-1b", "math"),
        ("small-1b", "math"),
        ("small-1b", "math"),
        ("big", "math"),
        ("big", "merge"),
    ]
    cheap_cost = sum(e["cost_usd"] for e in result.ledger if e["model"] == "small-1b")
    assert 0 < cheap_cost < row["cost_usd"] and result.answer == "Tom has 31 apples left [t1]."


def test_routing_to_an_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "trifecta.toml"
    path.write_text(
        '[models.big]\nbase_url = "http://127.0.0.1:9/v1"\n[routing]\nmath = ["tiny", "big"]\n'
    )
    with pytest.raises(ConfigError, match=r"routing names unknown models: tiny \(registry: big\)"):
        load_config(path, env={})


def _cheap_generalist(body: dict[str, Any]) -> Scripted:
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("name")
    if schema == "plan":
        return Scripted(completion("I think you should compute it."))  # not a plan
    if schema == "math_answer":
        return math_claims("31")
    return Scripted(completion("Tom has 999 apples [t1]."))  # a number from nowhere


async def test_planner_and_merger_chains_fall_back_to_the_next_model(tmp_path: Path) -> None:
    with serve_openai(_cheap_generalist) as cheap, serve_openai(big_model) as big:
        routing = """[routing]
planner = ["cheap", "big"]
merger = ["cheap", "big"]
math = ["cheap"]
[limits]
max_plan_attempts = 2"""
        (tmp_path / "trifecta.toml").write_text(two_models(cheap.url, big.url, routing))
        app = Trifecta.from_config(load_config(tmp_path / "trifecta.toml", env={}))
        result = await app.arun(APPLES)
    calls = [(e["model"], e["node"]) for e in result.ledger if e["kind"] == "model"]
    assert calls == [
        ("cheap", "plan"),
        ("cheap", "plan"),
        ("big", "plan"),
        ("cheap", "math"),
        ("cheap", "merge"),
        ("big", "merge"),
    ]
    assert result.answer == "Tom has 31 apples left [t1]."
    assert app.reference_model() is not None and app.reference_model()[0] == "big"  # type: ignore[index]
