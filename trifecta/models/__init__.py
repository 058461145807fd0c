"""Models: the `ChatModel` protocol and its backends."""

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
    Usage,
    parse_json,
)
from trifecta.models._langchain import LangChainChatModel
from trifecta.models._openai import OpenAIChatModel, StructuredMode

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
