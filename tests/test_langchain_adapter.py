"""Any langchain-core chat model works through the adapter."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import (
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from tests.fakes import plan, upper_specialist
from trifecta import Trifecta
from trifecta.agents import PLAN_SCHEMA, ModelPlanner
from trifecta.models import LangChainChatModel, Message, ModelOutputError


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


class Recording(FakeMessagesListChatModel):
    """A fake chat model that records what it was sent (no native structured output)."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append(messages)
        return super()._generate(messages, stop, run_manager, **kwargs)


class ToolCalling(Recording):
    """A fake that binds tools, so `with_structured_output` calls a tool natively."""

    bound: list[dict[str, Any]] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        self.bound.append({"tools": formatted, **kwargs})
        return self.bind(tools=formatted, **kwargs)


def tool_call(args: dict[str, Any]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": "plan", "args": args, "id": "call-1"}],
        usage_metadata={"input_tokens": 7, "output_tokens": 5, "total_tokens": 12},
    )


async def test_native_structured_output_is_used_when_the_model_has_it() -> None:
    wanted = plan(("t1", "upper", "hi"))
    fake = ToolCalling(responses=[tool_call(wanted)])
    out = await LangChainChatModel(fake).complete([Message("user", "plan it")], schema=PLAN_SCHEMA)
    assert out.data == wanted and json.loads(out.text) == wanted
    assert (out.usage.input_tokens, out.usage.output_tokens) == (7, 5)
    [binding] = fake.bound
    assert binding["tools"][0]["function"]["name"] == "plan"
    assert binding["tools"][0]["function"]["parameters"]["required"] == ["subtasks"]
    assert binding["tool_choice"] == "any"
    [sent] = fake.seen
    assert [m.type for m in sent] == ["human"]  # no JSON hint in the prompt


async def test_the_prompt_hint_is_only_the_fallback() -> None:
    reply = AIMessage(content=json.dumps(plan(("t1", "upper", "hi"))))
    fake = Recording(responses=[reply])
    out = await LangChainChatModel(fake).complete([Message("user", "plan it")], schema=PLAN_SCHEMA)
    assert out.data["subtasks"][0]["id"] == "t1"
    [sent] = fake.seen
    assert sent[-1].type == "system" and "matching this schema" in sent[-1].text


async def test_a_native_reply_without_the_structure_is_an_output_error() -> None:
    fake = ToolCalling(responses=[AIMessage(content="I would rather chat.")])
    with pytest.raises(ModelOutputError, match="no structured output") as info:
        await LangChainChatModel(fake).complete([Message("user", "plan it")], schema=PLAN_SCHEMA)
    assert info.value.text == "I would rather chat."


async def test_a_tool_calling_model_plans_a_run() -> None:
    fake = ToolCalling(responses=[tool_call(plan(("t1", "upper", "quiet")))])
    app = Trifecta([upper_specialist()], planner=ModelPlanner(LangChainChatModel(fake)))
    result = await app.arun("make it loud")
    assert result.ok and result.subtasks[0]["answer"] == "QUIET"
    assert result.report["tokens_in"] == 7 and fake.bound
