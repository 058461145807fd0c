"""Adapter: any langchain-core `BaseChatModel` as a trifecta `ChatModel`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig

from trifecta.models._base import (
    Message,
    ModelBase,
    ModelError,
    ModelOutputError,
    ModelReply,
    ModelTimeout,
    OutputSchema,
    Price,
    Privacy,
    Usage,
    parse_json,
)
from trifecta.models._callbacks import redacting

__all__ = ["LangChainChatModel", "StructuredMethod"]

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]
"""How a wrapped model's `with_structured_output` asks for JSON (LangChain's names)."""

_ROLES: dict[str, type[BaseMessage]] = {
    "system": SystemMessage,
    "user": HumanMessage,
    "assistant": AIMessage,
}


class LangChainChatModel(ModelBase):
    """Wrap a langchain-core chat model.

    Structured output uses the model's own `with_structured_output` (JSON schema,
    tool calling or JSON mode, as the provider implements it) when it has one; a model
    without it (no `bind_tools`) gets the schema appended as a system message and its
    reply parsed. Token counts come from the reply's `usage_metadata`.

    Args:
        model: any `BaseChatModel`.
        name: the name for the ledger (default: the model's own identifier).
        price: USD per million tokens.
        privacy: ``local`` if the model runs where sensitive data may go.
        context_window: tokens it accepts, if known (for routers).
        latency_s: its expected latency per call, if known (for routers).
        structured_method: the `method` passed to `with_structured_output`; None lets
            the model choose its default. ``json_mode`` also puts the schema in the prompt.
        provider: who serves it, for traces' ``gen_ai.provider.name`` (``anthropic``,
            ``openai``, ``aws.bedrock``…).
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
        structured_method: StructuredMethod | None = None,
        provider: str | None = None,
    ):
        name = name or str(getattr(model, "model_name", None) or model.get_name())
        super().__init__(
            name, price, privacy, context_window=context_window, latency_s=latency_s,
            provider=provider,
        )  # fmt: skip
        self._model = model
        self._method = structured_method
        self._native: dict[str, Runnable[Any, Any] | None] = {}

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: OutputSchema | None = None,
        timeout: float | None = None,
    ) -> ModelReply:
        """Invoke the wrapped model; with `schema`, through its native structured
        output when it has one, else with the schema in the prompt."""
        wire = [_ROLES[m.role](content=m.content) for m in messages]
        native = None if schema is None else self._structured(schema)
        if schema is not None and (native is None or self._method == "json_mode"):
            wire.append(SystemMessage(content=_hint(schema)))
        if native is not None:
            return self._parsed(await self._call(native, wire, timeout))
        reply = await self._call(self._model, wire, timeout)
        text = reply.text if isinstance(reply.content, list) else str(reply.content)
        data = parse_json(text) if schema is not None else None
        return ModelReply(text=text, model=self._name, usage=_usage(reply), data=data)

    def _structured(self, schema: OutputSchema) -> Runnable[Any, Any] | None:
        """The model's structured-output runnable for `schema` (None when it has none)."""
        key = f"{schema.name}:{json.dumps(schema.schema, sort_keys=True)}"
        if key not in self._native:
            # the title names the tool or JSON schema: the schema's name, as for OpenAI
            described = {
                **schema.schema,
                "title": schema.name,
                "description": schema.description
                or schema.schema.get("description")
                or f"Return the {schema.name}.",
            }
            options: dict[str, Any] = {"method": self._method} if self._method else {}
            try:
                native = self._model.with_structured_output(described, include_raw=True, **options)
            except NotImplementedError:
                native = None
            self._native[key] = native
        return self._native[key]

    async def _call(
        self, runnable: Runnable[Any, Any], wire: list[BaseMessage], timeout: float | None
    ) -> Any:
        try:
            # a sensitive run's text never reaches callbacks or tracers (LangSmith)
            config: RunnableConfig | None = {"callbacks": []} if redacting() else None
            return await asyncio.wait_for(runnable.ainvoke(wire, config), timeout)
        except TimeoutError as exc:
            raise ModelTimeout(f"{self._name}: timed out after {timeout}s") from exc
        except Exception as exc:
            raise ModelError(f"{self._name}: {type(exc).__name__}: {exc}") from exc

    def _parsed(self, out: dict[str, Any]) -> ModelReply:
        raw = out.get("raw")
        usage = _usage(raw) if isinstance(raw, AIMessage) else Usage()
        parsed = out.get("parsed")  # a dict: the schema is given as one
        if out.get("parsing_error") is not None or not isinstance(parsed, dict):
            said = raw.text if isinstance(raw, AIMessage) else ""
            why = out.get("parsing_error") or "no structured output in the reply"
            raise ModelOutputError(f"{self._name}: {why}", said)
        return ModelReply(text=json.dumps(parsed), model=self._name, usage=usage, data=parsed)


def _hint(schema: OutputSchema) -> str:
    return f"Reply with one JSON object matching this schema: {json.dumps(schema.schema)}"


def _usage(reply: AIMessage) -> Usage:
    meta = reply.usage_metadata
    return Usage() if meta is None else Usage(meta["input_tokens"], meta["output_tokens"])
