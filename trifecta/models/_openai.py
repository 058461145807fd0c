"""An OpenAI-compatible backend on the official `openai` SDK (OpenAI, vLLM, Ollama,
llama.cpp server, LM Studio...)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import openai

from trifecta.errors import UserError
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
    StructuredMode,
    Usage,
    parse_json,
)
from trifecta.models._callbacks import chat_model_run

__all__ = ["OpenAIChatModel"]


class OpenAIChatModel(ModelBase):
    """A chat model behind any OpenAI-compatible `/v1/chat/completions` endpoint.

    Retries (429, 5xx, connection errors, timeouts) use the SDK's exponential
    backoff, `max_retries` times.

    Args:
        model: the model name sent to the server.
        base_url: e.g. ``http://127.0.0.1:8080/v1``; None means OpenAI's.
        api_key: the key; local servers that need none get a placeholder.
        timeout: seconds per attempt.
        max_retries: retries after the first attempt.
        price: USD per million tokens, for the ledger.
        structured: how a schema is requested: ``json_schema`` (response_format),
            ``tool`` (a forced function call) or ``json_object`` (JSON mode plus
            the schema in the prompt).
        temperature: sampling temperature; None leaves the server default.
        max_tokens: a cap on each reply's length; None leaves the server default.
        privacy: ``local`` if the endpoint runs where sensitive data may go.
        context_window: tokens it accepts, if known (for routers).
        latency_s: its expected latency per call, if known (for routers).
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        price: Price | None = None,
        structured: StructuredMode = "json_schema",
        temperature: float | None = 0.0,
        max_tokens: int | None = None,
        privacy: Privacy = "cloud",
        context_window: int | None = None,
        latency_s: float | None = None,
    ) -> None:
        super().__init__(
            model, price, privacy, context_window=context_window, latency_s=latency_s,
            provider="openai",
        )  # fmt: skip
        self._structured = structured
        self._temperature = temperature
        self._max_tokens = max_tokens
        try:
            self._client = openai.AsyncOpenAI(
                base_url=base_url,
                api_key=api_key or ("not-needed" if base_url else None),
                timeout=timeout,
                max_retries=max_retries,
            )
        except openai.OpenAIError as exc:  # e.g. no API key for the default endpoint
            raise UserError(f"model {model!r}: {exc}") from exc

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: OutputSchema | None = None,
        timeout: float | None = None,
    ) -> ModelReply:
        """Send one chat completion request and parse the reply."""
        kwargs = self._request(messages, schema)
        if timeout is not None:
            kwargs["timeout"] = timeout
        params = {k: v for k, v in kwargs.items() if k not in ("messages", "timeout")}
        async with chat_model_run(self._name, "openai", messages, params) as run:
            try:
                response = await self._client.chat.completions.create(**kwargs)
            except openai.APITimeoutError as exc:
                raise ModelTimeout(f"{self._name}: timed out") from exc
            except openai.OpenAIError as exc:  # every client error becomes a ModelError here
                raise ModelError(f"{self._name}: {type(exc).__name__}: {exc}") from exc
            reply = self._reply(response, schema)
            await run.end(reply)
        return reply

    def _request(self, messages: Sequence[Message], schema: OutputSchema | None) -> dict[str, Any]:
        wire = [{"role": m.role, "content": m.content} for m in messages]
        kwargs: dict[str, Any] = {"model": self._name, "messages": wire}
        if self._temperature is not None:
            kwargs["temperature"] = self._temperature
        if self._max_tokens is not None:
            kwargs["max_tokens"] = self._max_tokens
        if schema is None:
            return kwargs
        if self._structured == "tool":
            kwargs["tools"] = [_tool(schema)]
            kwargs["tool_choice"] = {"type": "function", "function": {"name": schema.name}}
        elif self._structured == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
            hint = f"Reply with one JSON object matching this schema: {json.dumps(schema.schema)}"
            kwargs["messages"] = [*wire, {"role": "system", "content": hint}]
        else:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.name, "schema": schema.schema},
            }
        return kwargs

    def _reply(self, response: Any, schema: OutputSchema | None) -> ModelReply:
        if not response.choices:
            raise ModelOutputError(f"{self._name}: the reply has no choices")
        message = response.choices[0].message
        text = message.content or ""
        if schema is not None and getattr(message, "tool_calls", None):
            text = message.tool_calls[0].function.arguments or ""
        usage = response.usage
        return ModelReply(
            text=text,
            model=getattr(response, "model", None) or self._name,
            usage=Usage(
                input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                output_tokens=getattr(usage, "completion_tokens", 0) or 0,
            ),
            data=parse_json(text) if schema is not None else None,
        )


def _tool(schema: OutputSchema) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": schema.name,
            "description": schema.description or f"Return the {schema.name}.",
            "parameters": schema.schema,
        },
    }
