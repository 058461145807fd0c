"""Models: the `ChatModel` protocol and its backends.

The backends load on first use (``from trifecta.models import OpenAIChatModel``): the
``openai`` SDK and LangChain's chat-model classes take most of a second to import, which
an offline run never needs.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from trifecta.models._base import (
    Capabilities,
    ChatModel,
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

if TYPE_CHECKING:
    from trifecta.models._langchain import LangChainChatModel
    from trifecta.models._openai import OpenAIChatModel

__all__ = [
    "Capabilities",
    "ChatModel",
    "LangChainChatModel",
    "Message",
    "ModelBase",
    "ModelError",
    "ModelOutputError",
    "ModelReply",
    "ModelTimeout",
    "OpenAIChatModel",
    "OutputSchema",
    "Price",
    "Privacy",
    "StructuredMode",
    "Usage",
    "parse_json",
]

_BACKENDS = {
    "LangChainChatModel": "trifecta.models._langchain",
    "OpenAIChatModel": "trifecta.models._openai",
}


def __getattr__(name: str) -> Any:
    """Import a backend class the first time it is asked for."""
    module = _BACKENDS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
