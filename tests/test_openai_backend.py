"""The OpenAI-compatible backend over real HTTP against a loopback server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import plan
from trifecta import Trifecta, load_config
from trifecta.agents import PLAN_SCHEMA
from trifecta.models import (
    Message,
    ModelError,
    ModelOutputError,
    ModelTimeout,
    OpenAIChatModel,
    Price,
)
from trifecta.testing import Scripted, completion, error
from trifecta.testing import serve_openai as serve

HELLO = [Message("user", "hi")]


async def test_plain_reply_usage_and_price() -> None:
    with serve([Scripted(completion("hello"))]) as server:
        model = OpenAIChatModel("tiny", base_url=server.url, price=Price(1.0, 2.0))
        reply = await model.complete([Message("system", "be brief"), *HELLO])
    assert (reply.text, reply.usage.input_tokens, reply.usage.output_tokens) == ("hello", 11, 7)
    assert server.requests[0]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert model.price is not None and model.price.cost(reply.usage) == pytest.approx(
        (11 * 1 + 7 * 2) / 1e6
    )


async def test_json_schema_structured_output() -> None:
    body = json.dumps(plan(("t1", "math", "2+2")))
    with serve([Scripted(completion(body))]) as server:
        reply = await OpenAIChatModel("tiny", base_url=server.url).complete(
            HELLO, schema=PLAN_SCHEMA
        )
    assert reply.data["subtasks"][0]["id"] == "t1"
    sent = server.requests[0]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "plan"
    assert "subtasks" in sent["json_schema"]["schema"]["properties"]


async def test_tool_call_structured_output() -> None:
    args = json.dumps(plan(("t1", "math", "2+2")))
    with serve([Scripted(completion(None, tool_args=args))]) as server:
        model = OpenAIChatModel("tiny", base_url=server.url, structured="tool")
        reply = await model.complete(HELLO, schema=PLAN_SCHEMA)
    assert reply.data["subtasks"][0]["instruction"] == "2+2"
    request = server.requests[0]
    assert request["tool_choice"] == {"type": "function", "function": {"name": "plan"}}
    assert request["tools"][0]["function"]["parameters"]["title"] == "Plan"


async def test_429_is_retried_with_backoff() -> None:
    with serve([error(429, "slow down"), Scripted(completion("ok"))]) as server:
        reply = await OpenAIChatModel("tiny", base_url=server.url, max_retries=2).complete(HELLO)
    assert reply.text == "ok" and len(server.requests) == 2


async def test_persistent_server_errors_become_model_error() -> None:
    with (
        serve([error(500, "boom")] * 3) as server,
        pytest.raises(ModelError, match="InternalServerError"),
    ):
        await OpenAIChatModel("tiny", base_url=server.url, max_retries=2).complete(HELLO)
    assert len(server.requests) == 3


async def test_timeout_becomes_model_timeout() -> None:
    with serve([Scripted(completion("late"), delay=1.0)]) as server, pytest.raises(ModelTimeout):
        await OpenAIChatModel("tiny", base_url=server.url, max_retries=0).complete(
            HELLO, timeout=0.2
        )


async def test_prose_where_json_was_required() -> None:
    with (
        serve([Scripted(completion("I think you should integrate."))]) as server,
        pytest.raises(ModelOutputError, match="not JSON"),
    ):
        await OpenAIChatModel("tiny", base_url=server.url).complete(HELLO, schema=PLAN_SCHEMA)


async def test_whole_run_over_http_from_config(tmp_path: Path, demo_data: tuple[str, Path]) -> None:
    """Planner, specialists and merger configured by environment, all over HTTP."""
    db = demo_data[0]

    def reply(body: dict[str, Any]) -> Scripted:
        schema = body.get("response_format", {}).get("json_schema", {}).get("name")
        if schema == "plan":
            return Scripted(
                completion(
                    json.dumps(
                        plan(
                            ("t1", "math", "What is 15% of 80"),
                            ("t2", "sql", "How many orders are over 100 dollars?"),
                        )
                    )
                )
            )
        if schema == "sql_query":  # the SQL specialist's confirmation by the model tier
            return Scripted(
                completion(json.dumps({"sql": "SELECT COUNT(*) FROM orders WHERE total > 100"}))
            )
        return Scripted(completion("15% of 80 is 12 [t1]; 4 orders are over 100 dollars [t2]."))

    with serve(reply) as server:
        env = {"TRIFECTA_MODEL": "tiny", "OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "k"}
        config = load_config(
            env=env,
            data_dir=tmp_path,
            db=db,
            checkpoint="memory",
            prices={"tiny": {"input": 1.0, "output": 1.0}},
        )
        result = await Trifecta.from_config(config).arun("15% of 80, and orders over 100 dollars?")
    assert result.ok
    assert result.answer == "15% of 80 is 12 [t1]; 4 orders are over 100 dollars [t2]."
    assert [(r["answer"], r["status"]) for r in result.subtasks] == [
        ("12", "verified"),
        ("4", "verified"),
    ]
    assert "agreement with tier 1" in result.subtasks[1]["method"]
    assert result.report["model_calls"] == 3 and result.report["cost_usd"] == pytest.approx(
        3 * 18 / 1e6
    )
    assert {r["model"] for r in server.requests} == {"tiny"}
