"""Adapter: any langchain-core `BaseChatModel` as a trifecta `ChatModel`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig

from trifecta.models._base import (
    Message,
    ModelBase,
    ModelError,
    ModelReply,
    ModelTimeout,
    OutputSchema,
    Price,
    Privacy,
    Usage,
    parse_json,
)
from trifecta.models._callbacks import redacting

__all__ = ["LangChainChatModel"]

_ROLES: dict[str, type[BaseMessage]] = {
    "system": SystemMessage,
    "user": HumanMessage,
    "assistant": AIMessage,
}


class LangChainChatModel(ModelBase):
    """Wrap a langchain-core chat model.

    Structured output is requested in the prompt (the schema is appended as a
    system message) and parsed from the reply, which works with every provider.

    Args:
        model: any `BaseChatModel`.
        name: the name for the ledger (default: the model's own identifier).
        price: USD per million tokens.
        privacy: ``local`` if the model runs where sensitive data may go.
        context_window: tokens it accepts, if known (for routers).
        latency_s: its expected latency per call, if known (for routers).
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        name: str | None = None,
        price: Price | None = None,
        privacy: Privacy = "cloud",
        context_window: int | None = None,
        latency_s: float | None = None,
    ):
        name = name or str(getattr(model, "model_name", None) or model.get_name())
        super().__init__(name, price, privacy, context_window=context_window, latency_s=latency_s)
        self._model = model

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: OutputSchema | None = None,
        timeout: float | None = None,
    ) -> ModelReply:
        """Invoke the wrapped model and parse the reply."""
        wire = [_ROLES[m.role](content=m.content) for m in messages]
        if schema is not None:
            hint = f"Reply with one JSON object matching this schema: {json.dumps(schema.schema)}"
            wire.append(SystemMessage(content=hint))
        try:
            # a sensitive run's text never reaches callbacks or tracers (LangSmith)
            config: RunnableConfig | None = {"callbacks": []} if redacting() else None
            reply = await asyncio.wait_for(self._model.ainvoke(wire, config), timeout)
        except TimeoutError as exc:
            raise ModelTimeout(f"{self._name}: timed out after {timeout}s") from exc
        except Exception as exc:
            raise ModelError(f"{self._name}: {type(exc).__name__}: {exc}") from exc
        text = reply.text if isinstance(reply.content, list) else str(reply.content)
        meta = getattr(reply, "usage_metadata", None) or {}
        usage = Usage(meta.get("input_tokens", 0), meta.get("output_tokens", 0))
        data = parse_json(text) if schema is not None else None
        return ModelReply(text=text, model=self._name, usage=usage, data=data)
