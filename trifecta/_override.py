"""The parts a `Trifecta` runs with, and swapping them for a block of code
(`Trifecta.override`, in the spirit of pydantic-ai's ``Agent.override``)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from trifecta.agents import Merger, Planner
from trifecta.models import ChatModel
from trifecta.routing import Router
from trifecta.specialists import Specialist

__all__ = ["Override", "Parts", "model_names", "models_of", "swap_models"]

T = TypeVar("T")


@dataclass(frozen=True)
class Parts:
    """What one run uses: planner, merger, specialists and router."""

    planner: Planner
    merger: Merger
    specialists: tuple[Specialist, ...]
    router: Router | None

    def key(self) -> tuple[int, ...]:
        """Identity of the graph-shaping parts (the router is read at run time)."""
        return (id(self.planner), id(self.merger), *map(id, self.specialists))


def _swap(part: T, models: Mapping[str, ChatModel]) -> T:
    """`part` with its ``model`` (and its ``fallback`` chain's) replaced where named."""
    model: Any = getattr(part, "model", None)
    fallback: Any = getattr(part, "fallback", None)
    changes: dict[str, Any] = {}
    if model is not None and getattr(model, "name", None) in models:
        changes["model"] = models[model.name]
    if fallback is not None:
        swapped = _swap(fallback, models)
        if swapped is not fallback:
            changes["fallback"] = swapped
    if not changes:
        return part
    if dataclasses.is_dataclass(part) and not isinstance(part, type):
        return dataclasses.replace(part, **changes)
    clone = copy.copy(part)
    for name, value in changes.items():
        setattr(clone, name, value)
    return clone


def _swap_tiers(spec: Specialist, models: Mapping[str, ChatModel]) -> Specialist:
    tiers = [_swap(t, models) for t in spec.tiers]
    changed = any(new is not old for new, old in zip(tiers, spec.tiers, strict=True))
    return dataclasses.replace(spec, tiers=tiers) if changed else spec


def swap_models(parts: Parts, models: Mapping[str, ChatModel]) -> Parts:
    """`parts` with every model named in `models` replaced: specialist tiers, and the
    planner's and merger's fallback chains."""
    specialists = tuple(_swap_tiers(s, models) for s in parts.specialists)
    return Parts(
        _swap(parts.planner, models), _swap(parts.merger, models), specialists, parts.router
    )


def _chain(part: object) -> list[Any]:
    found, link = [], part
    while link is not None:  # a chain of model planners or mergers, by fallback
        found.append(getattr(link, "model", None))
        link = getattr(link, "fallback", None)
    return found


def models_of(parts: Parts) -> list[ChatModel]:
    """Every model the parts call: specialist tiers, planner and merger chains."""
    found = [getattr(t, "model", None) for s in parts.specialists for t in s.tiers]
    found += _chain(parts.planner) + _chain(parts.merger)
    return [m for m in found if isinstance(m, ChatModel)]


def model_names(parts: Parts) -> set[str]:
    """The names of every model the parts call."""
    return {m.name for m in models_of(parts)}


@dataclass(frozen=True)
class Override:
    """What `Trifecta.override` replaces; anything left None is read live."""

    planner: Planner | None = None
    merger: Merger | None = None
    specialists: tuple[Specialist, ...] | None = None
    router: Router | None = None
    models: Mapping[str, ChatModel] = field(default_factory=dict)

    def over(self, outer: Override | None) -> Override:
        """This override nested inside `outer`: its own fields win."""
        if outer is None:
            return self
        return Override(
            self.planner or outer.planner,
            self.merger or outer.merger,
            outer.specialists if self.specialists is None else self.specialists,
            self.router or outer.router,
            {**outer.models, **self.models},
        )

    def apply(self, live: Parts) -> Parts:
        """The parts a run uses: the live ones with these replaced."""
        parts = Parts(
            self.planner or live.planner,
            self.merger or live.merger,
            live.specialists if self.specialists is None else self.specialists,
            self.router or live.router,
        )
        return swap_models(parts, self.models) if self.models else parts
