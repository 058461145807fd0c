"""The model protocol every backend implements, and its value types."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import ConfigDict, Field, with_config

from trifecta.errors import RunError

__all__ = [
    "Capabilities",
    "ChatModel",
    "Message",
    "ModelBase",
    "ModelError",
    "ModelOutputError",
    "ModelReply",
    "ModelTimeout",
    "OutputSchema",
    "Price",
    "Privacy",
    "StructuredMode",
    "Usage",
    "parse_json",
]

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Role
    content: str


@dataclass(frozen=True)
class Usage:
    """Token counts of one call."""

    input_tokens: int = 0
    output_tokens: int = 0


_USD = Annotated[float, Field(ge=0, allow_inf_nan=False)]


@with_config(ConfigDict(extra="forbid", revalidate_instances="always"))
@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens (validated non-negative and finite when
    read from a configuration)."""

    input_per_mtok: _USD = 0.0
    output_per_mtok: _USD = 0.0

    def cost(self, usage: Usage) -> float:
        """The cost of `usage` in USD."""
        return (
            usage.input_tokens * self.input_per_mtok + usage.output_tokens * self.output_per_mtok
        ) / 1e6


Privacy = Literal["local", "cloud"]
StructuredMode = Literal["json_schema", "tool", "json_object"]
"""How a backend asks an OpenAI-compatible endpoint for JSON."""


@dataclass(frozen=True)
class Capabilities:
    """What a router may know about a model before calling it.

    Attributes:
        privacy: ``local`` when it runs where sensitive data may go; ``cloud`` otherwise
            (a sensitive run never reaches it).
        price: USD per million tokens (zero when free or unknown).
        context_window: tokens it accepts, if known.
        latency_s: its expected latency per call, if known.
        provider: who serves it, as OpenTelemetry's ``gen_ai.provider.name`` names it
            (``openai`` for an OpenAI-compatible endpoint), if known.
    """

    privacy: Privacy = "cloud"
    price: Price = field(default_factory=Price)
    context_window: int | None = None
    latency_s: float | None = None
    provider: str | None = None


@dataclass(frozen=True)
class OutputSchema:
    """A JSON schema the reply must follow (structured output)."""

    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class ModelReply:
    """A model's reply; `data` is the parsed JSON when a schema was requested."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    data: Any = None


class ModelError(RunError):
    """A model call failed (HTTP error, refused request, retries exhausted)."""


class ModelTimeout(ModelError):
    """A model call ran past its timeout."""


class ModelOutputError(ModelError):
    """The reply could not be used (not JSON when JSON was required)."""

    def __init__(self, message: str, text: str = "") -> None:
        super().__init__(message)
        self.text = text


@runtime_checkable
class ChatModel(Protocol):
    """Anything trifecta can call: an OpenAI-compatible endpoint, a langchain-core
    chat model through `LangChainChatModel`, or a test fake."""

    @property
    def name(self) -> str:
        """The model's name as recorded in the ledger."""
        ...

    @property
    def price(self) -> Price | None:
        """Its price, or None when free or unknown."""
        ...

    @property
    def privacy(self) -> Privacy:
        """``local`` or ``cloud``: whether sensitive data may reach it."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """Privacy, price, context window and expected latency, for routers."""
        ...

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: OutputSchema | None = None,
        timeout: float | None = None,
    ) -> ModelReply:
        """Answer `messages`; with `schema`, `ModelReply.data` holds the parsed JSON."""
        ...


class ModelBase:
    """The `name`, `price`, `privacy` and `capabilities` every `ChatModel`
    implementation carries.

    `privacy` is ``local`` for a model that runs where the data may go, ``cloud``
    otherwise (the default: a sensitive run never reaches it)."""

    def __init__(
        self,
        name: str,
        price: Price | None = None,
        privacy: Privacy = "cloud",
        *,
        context_window: int | None = None,
        latency_s: float | None = None,
        provider: str | None = None,
    ) -> None:
        self._name = name
        self._price = price
        self._privacy: Privacy = privacy
        self._context_window = context_window
        self._latency_s = latency_s
        self._provider = provider

    @property
    def name(self) -> str:
        """The model's name as recorded in the ledger."""
        return self._name

    @property
    def price(self) -> Price | None:
        """USD per million tokens, if configured."""
        return self._price

    @property
    def privacy(self) -> Privacy:
        """``local`` or ``cloud``."""
        return self._privacy

    @property
    def capabilities(self) -> Capabilities:
        """Privacy, price, context window and expected latency, for routers."""
        return Capabilities(
            self._privacy, self._price or Price(), self._context_window, self._latency_s,
            self._provider,
        )  # fmt: skip


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json(text: str) -> Any:
    """Parse a JSON reply, tolerating code fences and prose around one object.

    Raises:
        ModelOutputError: when no JSON value can be found.
    """
    candidates = [text.strip(), *(m.strip() for m in _FENCE.findall(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    preview = " ".join(text.split())[:120]
    raise ModelOutputError(f"the reply is not JSON: {preview!r}", text)
