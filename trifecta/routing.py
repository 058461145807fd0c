"""Routing: which tier of a specialist's chain runs next, and why.

A specialist's tiers are ordered cheapest first (tier 0 is usually a deterministic
solver). Before each tier runs, the *router* sees what has happened so far and picks
the next tier, or none. The default, `cheapest_first`, walks the chain in order,
skips ``cloud`` models on sensitive runs, and gives up when the chain is exhausted.
Every decision is recorded with its reason in the ledger and the audit log.

A user-supplied router replaces the policy::

    def skip_to_big_on_long_questions(ctx: RouteContext) -> Route | None:
        if not ctx.history and len(ctx.instruction) > 2_000:
            return Route(len(ctx.tiers) - 1, "long instruction: straight to the largest model")
        return cheapest_first(ctx)

    Trifecta(specialists, router=skip_to_big_on_long_questions)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from trifecta.ledger import AttemptOutcome, LedgerEntry, RouteCode, RouteRecord
from trifecta.models import Capabilities, ChatModel, Price, Privacy

__all__ = [
    "Attempt",
    "AttemptOutcome",
    "Route",
    "RouteContext",
    "Router",
    "TierInfo",
    "chain_info",
    "cheapest_first",
    "escalated",
    "route_record",
    "tier_info",
]


@dataclass(frozen=True)
class TierInfo:
    """One tier of a chain, as a router sees it.

    Attributes:
        index: position in the chain (0 = cheapest).
        name: the solver's or model's name.
        model: whether the tier calls a model (False for deterministic solvers).
        capabilities: the model's privacy, price, context window and expected latency
            (deterministic solvers: local, free).
    """

    index: int
    name: str
    model: bool
    capabilities: Capabilities

    @property
    def privacy(self) -> Privacy:
        """``local`` or ``cloud``."""
        return self.capabilities.privacy

    @property
    def price(self) -> Price:
        """USD per million tokens."""
        return self.capabilities.price


@dataclass(frozen=True)
class Attempt:
    """What one tier did: its outcome and why."""

    tier: int
    outcome: AttemptOutcome
    detail: str


@dataclass(frozen=True)
class RouteContext:
    """Everything a router may base its decision on."""

    specialist: str
    subtask: str
    instruction: str
    tiers: tuple[TierInfo, ...]
    history: tuple[Attempt, ...]
    sensitive: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    """The router's decision: run `tier` next, because of `reason`."""

    tier: int
    reason: str


Router = Callable[[RouteContext], Route | None]


def escalated(entries: Iterable[LedgerEntry], *, from_solver: str | None = None) -> bool:
    """Whether the ledger shows a tier (`from_solver`'s, or any) that answered wrongly or
    failed and handed over to the next one, whichever router decided; a tier that could
    not take the task ("not applicable") is not an escalation."""
    for entry in entries:
        route = entry.get("route")
        if route and route["code"] == "escalated" and from_solver in (None, route["from_solver"]):
            return True
    return False


def route_record(ctx: RouteContext, decision: Route) -> RouteRecord:
    """The decision as the ledger keeps it: the tier, and what the tier before it did."""
    last = ctx.history[-1] if ctx.history else None
    tier = ctx.tiers[decision.tier]
    code: RouteCode = "first"
    if last is not None:
        code = "next" if last.outcome == "not applicable" else "escalated"
    return RouteRecord(
        tier=tier.index,
        solver=tier.name,
        calls_model=tier.model,
        code=code,
        from_tier=last.tier if last else None,
        from_solver=ctx.tiers[last.tier].name if last else None,
        from_outcome=last.outcome if last else None,
        reason=decision.reason,
    )


def _why_next(ctx: RouteContext) -> str:
    if not ctx.history:
        return "cheapest tier first"
    last = ctx.history[-1]
    name = ctx.tiers[last.tier].name
    return f"escalated: tier {last.tier} ({name}) {last.outcome}: {last.detail}"


def cheapest_first(ctx: RouteContext) -> Route | None:
    """The default policy: the next tier after the last one tried, skipping ``cloud``
    models when the run is sensitive; None when no tier is left."""
    start = ctx.history[-1].tier + 1 if ctx.history else 0
    skipped: list[str] = []
    for tier in ctx.tiers[start:]:
        if ctx.sensitive and tier.privacy != "local":
            skipped.append(f"{tier.name} (cloud, run is sensitive)")
            continue
        reason = _why_next(ctx)
        return Route(tier.index, f"{reason}; skipped {', '.join(skipped)}" if skipped else reason)
    return None


def tier_info(index: int, solver: object) -> TierInfo:
    """Describe a solver: a `ModelSolver` by its model's capabilities; a solver that
    declares a ``privacy`` (a `ToolSolver`) by it; anything else as a local, free,
    deterministic tier."""
    model = getattr(solver, "model", None)
    name = str(getattr(solver, "name", type(solver).__name__))
    if model is None:
        declared = getattr(solver, "privacy", "local")
        privacy: Privacy = "local" if declared == "local" else "cloud"
        return TierInfo(index, name, False, Capabilities(privacy=privacy))
    # a model that does not declare its capabilities counts as cloud
    known = model.capabilities if isinstance(model, ChatModel) else Capabilities()
    return TierInfo(index, name, True, known)


def chain_info(solvers: Sequence[object]) -> tuple[TierInfo, ...]:
    """`tier_info` for every tier of a chain."""
    return tuple(tier_info(i, s) for i, s in enumerate(solvers))
