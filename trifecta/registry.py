"""Models from the configuration: the registry and the chain of each role."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from trifecta.config import Config, ConfigError, ModelSpec
from trifecta.models import ChatModel, Price

__all__ = ["Chains", "build_chains"]


@dataclass(frozen=True)
class Chains:
    """Models per role, cheapest first: the planner's, the merger's, each specialist's."""

    planner: list[ChatModel] = field(default_factory=list)
    merger: list[ChatModel] = field(default_factory=list)
    specialists: dict[str, list[ChatModel]] = field(default_factory=dict)
    default: list[ChatModel] = field(default_factory=list)

    def for_specialist(self, name: str) -> list[ChatModel]:
        """The chain of one specialist (its own, else the default)."""
        return self.specialists.get(name, self.default)


def _api_key(name: str, spec: ModelSpec, api_key: str | None) -> str | None:
    """The model's key; OpenAI's own endpoint (no `base_url`) refuses to start without one."""
    key = api_key or os.environ.get(spec.api_key_env)
    if not key and not spec.base_url and not os.environ.get("OPENAI_API_KEY"):
        raise ConfigError(
            f"model {name!r} has no API key for OpenAI's endpoint: set {spec.api_key_env}, "
            "or give a base_url (--base-url) for a local server"
        )
    return key


def _from_spec(name: str, spec: ModelSpec, config: Config, api_key: str | None = None) -> ChatModel:
    from trifecta.models import OpenAIChatModel  # the openai SDK: only when a model is set

    return OpenAIChatModel(
        spec.model or name,
        base_url=spec.base_url,
        api_key=_api_key(name, spec, api_key),
        timeout=spec.timeout_s,
        max_retries=config.max_retries,
        price=spec.price,
        structured=spec.structured_output,
        max_tokens=spec.max_output_tokens,
        privacy=spec.privacy,
        context_window=spec.context_window,
        latency_s=spec.latency_s,
    )


def _single(config: Config) -> ChatModel:
    """The top-level `model` settings, as a registry entry."""
    assert config.model
    spec = ModelSpec(
        base_url=config.base_url,
        price=config.prices.get(config.model) or Price(),
        privacy=config.privacy,
        structured_output=config.structured_output,
        max_output_tokens=config.max_output_tokens,
        timeout_s=config.timeout_s,
    )
    return _from_spec(config.model, spec, config, api_key=config.api_key)


def build_chains(config: Config) -> Chains:
    """The registry's chains (``[models]`` and ``[routing]``), else the single `model`
    for every role, else no models (offline).

    Raises:
        ConfigError: a model on OpenAI's endpoint has no API key.
    """
    if config.models:
        registry = {name: _from_spec(name, spec, config) for name, spec in config.models.items()}
        routes = {role: [registry[n] for n in chain] for role, chain in config.routing.items()}
        default = routes.pop("specialists", list(registry.values()))
        planner, merger = routes.pop("planner", default[-1:]), routes.pop("merger", default[-1:])
        return Chains(planner, merger, routes, default)
    if config.model:
        model = _single(config)
        return Chains([model], [model], {}, [model])
    return Chains()
