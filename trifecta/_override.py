"""The parts a `Trifecta` runs with, and swapping them for a block of code
(`Trifecta.override`, in the spirit of pydantic-ai's ``Agent.override``)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from trifecta.agents import Merger, Planner
from trifecta.models import ChatModel
from trifecta.routing import Router
from trifecta.specialists import Specialist

__all__ = ["Parts", "swap_models"]

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


def swap_models(parts: Parts, models: Mapping[str, ChatModel]) -> Parts:
    """`parts` with every model named in `models` replaced: specialist tiers, and the
    planner's and merger's fallback chains."""
    specialists = tuple(
        dataclasses.replace(s, tiers=[_swap(t, models) for t in s.tiers])
        if any(_swap(t, models) is not t for t in s.tiers)
        else s
        for s in parts.specialists
    )
    return Parts(
        _swap(parts.planner, models), _swap(parts.merger, models), specialists, parts.router
    )
