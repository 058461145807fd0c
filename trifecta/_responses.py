"""The Responses API (`POST /v1/responses`) in front of the orchestrator: parse a request
into a chat turn, and write a run as a ``response`` object or its streamed events.

A response's id names its conversation and turn, so ``previous_response_id`` continues
that conversation's thread (the caller's API key still selects whose thread it is). With
no previous response, the input's messages are the conversation, as on chat completions.
The report travels in the ``trifecta`` extension field at the top level, and as JSON
text in ``metadata["trifecta"]``, which LangChain's ``ChatOpenAI`` (Responses API)
copies into ``response_metadata["metadata"]``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, ValidationError

from trifecta._api_error import ApiError
from trifecta._chat_request import ChatTurn, check_model, clean_text, invalid_body, no_tools
from trifecta._response_format import TEXT, OutputFormat, output_format
from trifecta._server_run import extension, pieces, reply_text, sse, usage_of
from trifecta.config import ServerSettings
from trifecta.graphs.state import Event
from trifecta.result import RunResult

__all__ = ["ResponsesStream", "ResponsesTurn", "parse_responses", "response_object"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: StrictStr
    text: StrictStr | None = None


class _Item(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: StrictStr = "message"
    role: StrictStr | None = None
    content: StrictStr | list[_Part] | None = None


class _Text(BaseModel):
    model_config = ConfigDict(extra="allow")

    format: dict[str, Any] | None = None


class _ResponsesBody(BaseModel):
    """The fields of a Responses API request this server reads (others are allowed)."""

    model_config = ConfigDict(extra="allow")

    model: StrictStr | None = None
    input: StrictStr | list[_Item]
    previous_response_id: StrictStr | None = None
    stream: StrictBool | None = None
    user: StrictStr | None = None
    metadata: dict[StrictStr, StrictStr] | None = None
    text: _Text | None = None
    tools: list[Any] | None = None
    tool_choice: Any = None
    conversation: Any = None


@dataclass(frozen=True)
class ResponsesTurn:
    """A validated Responses request: its chat turn, the conversation and turn that
    ``previous_response_id`` names (None without one), and the caller's metadata."""

    turn: ChatTurn
    previous: tuple[str, int] | None
    metadata: dict[str, str]


def parse_responses(raw: bytes, settings: ServerSettings) -> ResponsesTurn:
    """Validate a Responses API body and pick its turn.

    Raises:
        ApiError: 400 for a malformed body, tools, a ``conversation`` object, input
            items other than messages, a ``text.format`` that cannot be satisfied, or
            input that does not end with the user's message; 404 for another model.
    """
    try:
        body = _ResponsesBody.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_body(exc) from None
    check_model(body.model, settings)
    no_tools(bool(body.tools), body.tool_choice)
    if body.conversation is not None:
        raise ApiError(
            400,
            "conversation objects are not supported; continue with previous_response_id.",
            code="unsupported_parameter",
        )
    output = _output(body.text)
    items = [_Item(role="user", content=body.input)] if isinstance(body.input, str) else body.input
    said = _messages(items, settings)
    previous = None if body.previous_response_id is None else _decode_id(body.previous_response_id)
    users = [m for m in said if m["role"] == "user"]
    if previous is not None and len(users) != 1:
        raise ApiError(
            400,
            "With previous_response_id, input holds the one new user message.",
            code="invalid_input",
        )
    turn = previous[1] + 1 if previous else len(users)
    text = said[-1]["content"]
    chat = ChatTurn(
        text, turn, bool(body.stream), body.user, said, output, previous and previous[1]
    )
    return ResponsesTurn(chat, previous, body.metadata or {})


def _output(text: _Text | None) -> OutputFormat:
    spec = text.format if text is not None else None
    if spec is None:
        return TEXT
    return output_format(spec.get("type"), spec.get("schema"))


def _messages(items: list[_Item], settings: ServerSettings) -> tuple[dict[str, str], ...]:
    if len(items) > settings.max_messages:
        raise ApiError(
            400,
            f"{len(items)} input items; the limit is {settings.max_messages}.",
            code="too_many_messages",
        )
    said: list[dict[str, str]] = []
    for item in items:
        if item.type != "message" or item.role not in ("user", "assistant", "system", "developer"):
            raise ApiError(
                400,
                f"Input items of type {item.type!r} (role {item.role!r}) are not supported; "
                "send messages.",
                code="invalid_input",
            )
        if item.role in ("user", "assistant"):
            said.append({"role": item.role, "content": clean_text(_text(item))})
    if not said or said[-1]["role"] != "user":
        raise ApiError(400, "The input must end with the user's message.", code="invalid_input")
    return tuple(said)


def _text(item: _Item) -> str:
    if isinstance(item.content, list):
        return " ".join(
            p.text or "" for p in item.content if p.type in ("input_text", "output_text", "text")
        )
    return item.content or ""


def _response_id(conversation: str, turn: int) -> str:
    """The id of a conversation's turn: ``resp_`` and both, base64url-encoded."""
    token = base64.urlsafe_b64encode(f"{turn}:{conversation}".encode()).decode().rstrip("=")
    return f"resp_{token}"


def _decode_id(value: str) -> tuple[str, int]:
    """The conversation and turn a response id names.

    Raises:
        ApiError: 404 for an id this server did not make.
    """
    token = value.removeprefix("resp_")
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        turn, conversation = decoded.split(":", 1)
        number = int(turn)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _not_found(value) from None
    if (
        number < 1
        or _response_id(conversation, number) != value
        or clean_text(conversation) != conversation
    ):
        raise _not_found(value)
    return conversation, number


def _not_found(value: str) -> ApiError:
    """The 404 for a previous response this server does not hold."""
    return ApiError(
        404,
        f"Previous response with id '{value[:80]}' not found.",
        code="previous_response_not_found",
    )


@dataclass(frozen=True)
class _Reply:
    """What a response object is made of, before and after the run."""

    id: str
    model: str
    previous: str | None
    metadata: dict[str, str]
    output: OutputFormat
    created: int = field(default_factory=lambda: int(time.time()))

    def body(self, result: RunResult | None, replayed: bool = False) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": "in_progress" if result is None else "completed",
            "model": self.model,
            "output": [],
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "metadata": dict(self.metadata),
            "parallel_tool_calls": False,
            "previous_response_id": self.previous,
            "text": {"format": {"type": self.output.kind}},
            "tool_choice": "none",
            "tools": [],
            "usage": None,
        }
        if result is None:
            return obj
        report = extension(result, replayed)
        tokens_in, tokens_out = usage_of(result)
        obj["completed_at"] = int(time.time())
        obj["metadata"]["trifecta"] = json.dumps(report, default=str)
        obj["usage"] = {
            "input_tokens": tokens_in,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": tokens_out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": tokens_in + tokens_out,
        }
        obj["trifecta"] = report
        return obj


def _message(item_id: str, text: str | None) -> dict[str, Any]:
    parts = [] if text is None else [_part(text)]
    status = "in_progress" if text is None else "completed"
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": parts,
    }


def _part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def response_object(
    result: RunResult,
    asked: ResponsesTurn,
    model: str,
    conversation: str,
    replayed: bool,
) -> dict[str, Any]:
    """The ``response`` object for a finished run (content per its ``text.format``).

    Raises:
        ApiError: 400 when the result does not fit the requested schema.
    """
    reply = _reply(asked, model, conversation)
    content = reply.output.content(result, reply_text(result))
    body = reply.body(result, replayed)
    body["output"] = [_message(f"msg_{uuid.uuid4().hex}", content)]
    return body


def _reply(asked: ResponsesTurn, model: str, conversation: str) -> _Reply:
    """The response's parts; its id names the turn the request makes (the run answers
    that turn, whether it replays, resumes or starts it)."""
    previous = _response_id(*asked.previous) if asked.previous else None
    own = _response_id(conversation, asked.turn.turn)
    return _Reply(own, model, previous, asked.metadata, asked.turn.output)


class ResponsesStream:
    """The Responses API's streamed events: ``response.created``, ``response.in_progress``,
    progress as ``trifecta.progress`` events (clients skip types they do not know), then
    the message item, its text deltas and ``response.completed`` (``response.failed``
    when the run ends with an error)."""

    def __init__(self, asked: ResponsesTurn, model: str, conversation: str) -> None:
        self.reply = _reply(asked, model, conversation)
        self.item_id = f"msg_{uuid.uuid4().hex}"
        self.sequence = 0

    def _event(self, kind: str, **fields: Any) -> str:
        payload = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return sse(payload, kind)

    def opening(self) -> list[str]:
        """``response.created`` and ``response.in_progress``."""
        pending = self.reply.body(None)
        return [
            self._event("response.created", response=pending),
            self._event("response.in_progress", response=pending),
        ]

    def progress(self, event: Event) -> list[str]:
        """A ``trifecta.progress`` event (the merged answer follows as text)."""
        data = None if event.kind == "merged" else event.data
        return [self._event("trifecta.progress", event=event.kind, data=data)]

    def finished(self, result: RunResult, replayed: bool) -> list[str]:
        """The message item, its text (line by line), and ``response.completed``."""
        text = self.reply.output.content(result, reply_text(result))
        where = {"item_id": self.item_id, "output_index": 0, "content_index": 0}
        lines = [
            self._event(
                "response.output_item.added", output_index=0, item=_message(self.item_id, None)
            ),
            self._event("response.content_part.added", **where, part=_part("")),
        ]
        for piece in pieces(text):
            lines.append(
                self._event("response.output_text.delta", **where, delta=piece, logprobs=[])
            )
        item = _message(self.item_id, text)
        final = self.reply.body(result, replayed) | {"output": [item]}
        return [
            *lines,
            self._event("response.output_text.done", **where, text=text, logprobs=[]),
            self._event("response.content_part.done", **where, part=_part(text)),
            self._event("response.output_item.done", output_index=0, item=item),
            self._event("response.completed", response=final),
        ]

    def failed(self, error: ApiError) -> list[str]:
        """``response.failed`` carrying the error's code and message."""
        body = self.reply.body(None) | {
            "status": "failed",
            "error": {"code": error.code or "server_error", "message": error.message},
        }
        return [self._event("response.failed", response=body)]
