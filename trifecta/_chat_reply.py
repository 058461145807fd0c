"""A run as an OpenAI chat completion, or as ``chat.completion.chunk`` server-sent events.

The report travels in the ``trifecta`` extension field: at the top level (the openai
SDK's ``model_extra``) and inside ``usage`` (LangChain's ``ChatOpenAI`` copies ``usage``
whole into ``response_metadata["token_usage"]``, and drops unknown top-level fields).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from trifecta._api_error import ApiError
from trifecta._response_format import OutputFormat
from trifecta._server_run import extension, pieces, reply_text, sse, usage_of
from trifecta.graphs.state import Event
from trifecta.result import RunResult

__all__ = ["ChatStream", "completion"]


def completion(
    result: RunResult, model: str, replayed: bool, output: OutputFormat
) -> dict[str, Any]:
    """The ``chat.completion`` object (content per `output`), with the report in
    ``trifecta``.

    Raises:
        ApiError: 400 when the result does not fit `output`'s schema.
    """
    content = output.content(result, reply_text(result))
    report = extension(result, replayed)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(result, report),
        "trifecta": report,
    }


def _usage(result: RunResult, report: dict[str, Any]) -> dict[str, Any]:
    tokens_in, tokens_out = usage_of(result)
    return {
        "prompt_tokens": tokens_in,
        "completion_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
        "trifecta": report,
    }


@dataclass
class ChatStream:
    """Chunks: the role, progress (an empty delta with a ``trifecta`` field), the content
    line by line, a final chunk with ``usage`` and the report, then ``[DONE]``."""

    model: str
    output: OutputFormat
    chunk_id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def opening(self) -> list[str]:
        """The role chunk."""
        return [sse(self._chunk({"role": "assistant", "content": ""}))]

    def progress(self, event: Event) -> list[str]:
        """A progress chunk (the merged answer follows as content, so it is left out)."""
        data = None if event.kind == "merged" else event.data
        return [sse({**self._chunk({}), "trifecta": {"event": event.kind, "data": data}})]

    def finished(self, result: RunResult, replayed: bool) -> list[str]:
        """The content, the final chunk and ``[DONE]``."""
        content = self.output.content(result, reply_text(result))
        chunks = [sse(self._chunk({"content": piece})) for piece in pieces(content)]
        report = extension(result, replayed)
        final = {**self._chunk({}, "stop"), "usage": _usage(result, report), "trifecta": report}
        return [*chunks, sse(final), "data: [DONE]\n\n"]

    def failed(self, error: ApiError) -> list[str]:
        """The error body, then ``[DONE]``."""
        return [sse(error.body()), "data: [DONE]\n\n"]

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": self.chunk_id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
