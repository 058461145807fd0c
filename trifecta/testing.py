"""Test doubles: a chat model whose replies are computed by a function.

Like pydantic-ai's ``FunctionModel``: the function sees the messages and the call
info and returns text, a JSON-able dict, or a `ModelReply`, or raises (e.g.
`ModelTimeout`). It sits behind the same `ChatModel` interface as a real model,
so everything from the ledger to structured-output parsing runs for real.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from trifecta.models import (
    Message,
    ModelBase,
    ModelReply,
    ModelTimeout,
    OutputSchema,
    Price,
    Usage,
    parse_json,
)

__all__ = ["CallInfo", "FunctionModel", "Reply"]

Reply = str | dict[str, Any] | ModelReply


@dataclass(frozen=True)
class CallInfo:
    """What the reply function knows about the call."""

    index: int
    schema: OutputSchema | None
    model: str

    @property
    def schema_name(self) -> str | None:
        """The requested schema's name (``plan``, ``sql_query``...) or None."""
        return self.schema.name if self.schema else None


class FunctionModel(ModelBase):
    """A scripted `ChatModel`.

    Args:
        fn: ``(messages, info) -> str | dict | ModelReply`` (sync or async).
        name: the model name recorded in the ledger.
        price: USD per million tokens.
        latency: seconds to sleep before each reply (benchmarks, timeouts).
    """

    def __init__(
        self,
        fn: Callable[[list[Message], CallInfo], Reply | Awaitable[Reply]],
        *,
        name: str = "function-model",
        price: Price | None = None,
        latency: float = 0.0,
    ) -> None:
        super().__init__(name, price)
        self.fn = fn
        self.latency = latency
        self.calls: list[list[Message]] = []

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: OutputSchema | None = None,
        timeout: float | None = None,
    ) -> ModelReply:
        """Compute the reply; enforces `timeout` like a real client."""
        try:
            return await asyncio.wait_for(self._reply(list(messages), schema), timeout)
        except TimeoutError as exc:
            raise ModelTimeout(f"{self._name}: timed out after {timeout}s") from exc

    async def _reply(self, messages: list[Message], schema: OutputSchema | None) -> ModelReply:
        info = CallInfo(len(self.calls), schema, self._name)
        self.calls.append(messages)
        if self.latency:
            await asyncio.sleep(self.latency)
        out = self.fn(messages, info)
        if inspect.isawaitable(out):
            out = await out
        if isinstance(out, ModelReply):
            return out
        text = json.dumps(out) if isinstance(out, dict) else str(out)
        usage = Usage(sum(len(m.content) for m in messages) // 4 + 1, len(text) // 4 + 1)
        data = parse_json(text) if schema is not None else None
        return ModelReply(text=text, model=self._name, usage=usage, data=data)
