"""The server's request boundary: read the body within its limits, validate it, clean
the text before anything routes on it, and name the conversation's thread."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from trifecta._api_error import ApiError
from trifecta._response_format import TEXT, OutputFormat, output_format
from trifecta.config import ServerSettings

__all__ = [
    "ChatTurn",
    "check_model",
    "clean_text",
    "invalid_body",
    "no_tools",
    "parse_chat",
    "read_body",
    "thread_for",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: StrictStr
    text: StrictStr | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: StrictStr
    content: StrictStr | list[_Part] | None = None


class _ChatBody(BaseModel):
    """The fields of an OpenAI chat request this server reads (others are allowed)."""

    model_config = ConfigDict(extra="allow")

    model: StrictStr | None = None
    messages: list[_Message] = Field(min_length=1)
    stream: StrictBool | None = None
    user: StrictStr | None = None
    response_format: dict[str, Any] | None = None
    tools: list[Any] | None = None
    tool_choice: Any = None
    functions: list[Any] | None = None
    function_call: Any = None


@dataclass(frozen=True)
class ChatTurn:
    """A validated request: the cleaned text of the last user message, its turn (how
    many user messages), and the conversation's user and assistant messages as
    OpenAI-style dicts (system and tool messages left out), and how the reply's content
    is written (text, or JSON per ``response_format``); `follows` is the turn the
    request names as the one it continues (the Responses API's previous response)."""

    text: str
    turn: int
    stream: bool
    user: str | None
    messages: tuple[dict[str, str], ...] = ()
    output: OutputFormat = TEXT
    follows: int | None = None


# C0 and C1 control characters and DEL, except tab, newline and carriage return.
_CONTROLS: dict[int, None] = {
    c: None for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c not in (9, 10, 13)
}


def clean_text(text: str) -> str:
    """`text` without NUL and the other control characters (linear): what the user
    sees is what routes."""
    return text.translate(_CONTROLS)


async def read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The body, read chunk by chunk: past `limit` bytes it stops reading (413); a
    client that takes longer than `timeout_s` to send it is cut off (408)."""
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit():
        raise ApiError(400, "Content-Length must be a number of bytes.", code="invalid_request")
    if int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(size, limit, "at least ")
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(
            408, f"The body took longer than {timeout_s:g}s to arrive.", code="request_timeout"
        ) from None
    return b"".join(chunks)


def _too_large(size: int, limit: int, prefix: str = "") -> ApiError:
    return ApiError(
        413,
        f"Request body is {prefix}{size:,} bytes; the limit is {limit:,}.",
        code="request_too_large",
    )


def parse_chat(raw: bytes, settings: ServerSettings) -> ChatTurn:
    """Validate the JSON body (UTF-8, nesting depth, field types) and pick the turn.

    Raises:
        ApiError: 400 for malformed JSON, invalid Unicode, over-deep nesting, a field
            of the wrong type, tools, or a ``response_format`` that cannot be satisfied;
            404 for another model's name.
    """
    try:
        body = _ChatBody.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_body(exc) from None
    check_model(body.model, settings)
    no_tools(bool(body.tools or body.functions), body.tool_choice, body.function_call)
    output = _chat_output(body.response_format)
    if len(body.messages) > settings.max_messages:
        raise ApiError(
            400,
            f"{len(body.messages)} messages; the limit is {settings.max_messages}.",
            code="too_many_messages",
        )
    users = [m for m in body.messages if m.role == "user"]
    if not users or body.messages[-1].role != "user":
        raise ApiError(400, "The last message must come from the user.", code="invalid_messages")
    said = tuple(
        {"role": m.role, "content": clean_text(_content(m))}
        for m in body.messages
        if m.role in ("user", "assistant")
    )
    text = clean_text(_content(users[-1]))
    return ChatTurn(text, len(users), bool(body.stream), body.user, said, output)


def check_model(model: str | None, settings: ServerSettings) -> None:
    """Accept this server's model name or none.

    Raises:
        ApiError: 404 for another model's name.
    """
    if model not in (settings.model_name, None):
        raise ApiError(
            404,
            f"The model '{model}' does not exist; this server serves '{settings.model_name}'.",
            code="model_not_found",
        )


def no_tools(tools: bool, *choices: Any) -> None:
    """Refuse a request that offers tools or asks for a tool call.

    Raises:
        ApiError: 400 when `tools` is true or a choice is other than none or ``"none"``.
    """
    if tools or any(choice not in (None, "none") for choice in choices):
        raise ApiError(
            400,
            "tools are not supported; trifecta runs its own specialists.",
            code="tools_not_supported",
        )


def _chat_output(spec: dict[str, Any] | None) -> OutputFormat:
    if spec is None:
        return TEXT
    if spec.get("type") != "json_schema":
        return output_format(spec.get("type"))
    inner = spec.get("json_schema")
    if not isinstance(inner, dict) or "schema" not in inner:
        raise ApiError(
            400,
            "response_format: json_schema needs json_schema.schema.",
            code="invalid_response_format",
        )
    return output_format("json_schema", inner["schema"])


def invalid_body(exc: ValidationError) -> ApiError:
    """The 400 for a body that failed validation: its first problem."""
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        detail = str(first.get("ctx", {}).get("error", first["msg"]))
        return ApiError(400, f"The body is not valid JSON: {detail}", code="invalid_json")
    if first["type"] == "model_type" and not first["loc"]:
        return ApiError(400, "The body must be a JSON object.", code="invalid_json")
    where = ".".join(str(p) for p in first["loc"]) or "body"
    code = "invalid_messages" if where.startswith("messages") else "invalid_request"
    return ApiError(
        400, f"Invalid '{where}': {first['msg']}.", code=code, kind="invalid_request_error"
    )


def _content(message: _Message) -> str:
    if isinstance(message.content, list):  # content parts
        return " ".join(p.text or "" for p in message.content if p.type == "text")
    return message.content or ""


def thread_for(conversation: str, api_key: str | None, max_chars: int) -> str:
    """The LangGraph thread of a conversation (each turn is a checkpoint of it), bound
    to the API key that started it.

    Raises:
        ApiError: 400 for an id longer than `max_chars` or holding control characters.
    """
    if len(conversation) > max_chars or clean_text(conversation) != conversation:
        raise ApiError(
            400,
            f"The conversation id must be at most {max_chars} printable characters.",
            code="invalid_conversation_id",
        )
    if api_key is None:
        return conversation
    key = hashlib.sha256(api_key.encode()).hexdigest()[:16]
    return f"key-{key}/{conversation}"
