"""Any langchain-core chat model works through the adapter."""

from __future__ import annotations

import json

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from tests.fakes import plan, upper_specialist
from trifecta import Trifecta
from trifecta.agents import PLAN_SCHEMA, ModelPlanner
from trifecta.models import LangChainChatModel, Message


async def test_adapter_converts_messages_usage_and_json() -> None:
    reply = AIMessage(
        content=json.dumps(plan(("t1", "upper", "hi"))),
        usage_metadata={"input_tokens": 5, "output_tokens": 3, "total_tokens": 8},
    )
    model = LangChainChatModel(GenericFakeChatModel(messages=iter([reply])), name="lc-fake")
    out = await model.complete([Message("user", "plan it")], schema=PLAN_SCHEMA)
    assert out.data["subtasks"][0]["id"] == "t1"
    assert (out.usage.input_tokens, out.usage.output_tokens, out.model) == (5, 3, "lc-fake")


async def test_langchain_model_as_planner() -> None:
    lc = GenericFakeChatModel(
        messages=iter([AIMessage(content=json.dumps(plan(("t1", "upper", "quiet"))))])
    )
    app = Trifecta([upper_specialist()], planner=ModelPlanner(LangChainChatModel(lc)))
    result = await app.arun("make it loud")
    assert result.ok and result.subtasks[0]["answer"] == "QUIET"
