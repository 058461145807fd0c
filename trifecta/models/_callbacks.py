"""LangChain callbacks for models called through their own SDK: a model call made inside
a graph run (or any runnable) is reported as a chat-model run to the caller's callback
handlers, so it shows in ``astream_events`` and in LangSmith or any other tracer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import AsyncCallbackManager, AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.runnables.config import var_child_runnable_config

from trifecta.models._base import Message, ModelReply

__all__ = ["ChatRun", "chat_model_run", "redacted", "redacting"]

_REDACT: ContextVar[bool] = ContextVar("trifecta_redact", default=False)
REDACTED = "[redacted: sensitive run]"


@contextmanager
def redacted(on: bool) -> Iterator[None]:
    """Inside the block (a sensitive run's model call), callbacks and tracers see no
    prompt or reply text."""
    token = _REDACT.set(on)
    try:
        yield
    finally:
        _REDACT.reset(token)


def redacting() -> bool:
    """Whether the current model call's text is kept from callbacks."""
    return _REDACT.get()


_log = logging.getLogger("trifecta.model")

_ROLES: dict[str, type[BaseMessage]] = {
    "system": SystemMessage,
    "user": HumanMessage,
    "assistant": AIMessage,
}


class ChatRun:
    """The callback run of one model call; `end` reports the reply (no-op when no
    handler listens)."""

    def __init__(self, run: AsyncCallbackManagerForLLMRun | None) -> None:
        self._run = run

    async def end(self, reply: ModelReply) -> None:
        """Report the reply, with its token usage."""
        if self._run is None:
            return
        usage = {
            "input_tokens": reply.usage.input_tokens,
            "output_tokens": reply.usage.output_tokens,
            "total_tokens": reply.usage.input_tokens + reply.usage.output_tokens,
        }
        message = AIMessage(REDACTED if redacting() else reply.text, usage_metadata=usage)
        try:
            await self._run.on_llm_end(
                LLMResult(
                    generations=[[ChatGeneration(message=message)]],
                    llm_output={"model_name": reply.model, "token_usage": usage},
                )
            )
        except Exception:  # a handler that raises never fails the (paid) call it reports
            _log.warning("a LangChain callback failed on %s's reply", reply.model, exc_info=True)


@asynccontextmanager
async def chat_model_run(
    model: str, provider: str, messages: Sequence[Message], params: dict[str, Any]
) -> AsyncIterator[ChatRun]:
    """Report a chat-model run to the enclosing runnable's callbacks, if any; an
    exception inside the block is reported as the run's error."""
    config = var_child_runnable_config.get()
    if not config or not config.get("callbacks"):
        yield ChatRun(None)
        return
    manager = AsyncCallbackManager.configure(
        inheritable_callbacks=config.get("callbacks"),
        inheritable_tags=config.get("tags"),
        inheritable_metadata=config.get("metadata"),
        local_metadata={"ls_provider": provider, "ls_model_name": model, "ls_model_type": "chat"},
    )
    hide = redacting()
    wire = [
        _ROLES.get(m.role, HumanMessage)(content=REDACTED if hide else m.content) for m in messages
    ]
    try:
        (run,) = await manager.on_chat_model_start(
            {"name": model, "id": ["trifecta", "models", provider]},
            [wire],
            invocation_params={**params, "model": model},
            name=model,
        )
    except Exception:  # reporting never fails the call it reports
        _log.warning("could not report the %s call to LangChain callbacks", model, exc_info=True)
        yield ChatRun(None)
        return
    try:
        yield ChatRun(run)
    except BaseException as exc:
        with suppress(Exception):  # the call's own error is the one that matters
            await run.on_llm_error(exc)
        raise
