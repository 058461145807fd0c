"""The routing table: which tier answered each subtask, what it cost, and what sending
everything to the most expensive configured model would have cost.

The counterfactual is an estimate, stated as such: planner and merger calls are
priced at the reference model with their measured tokens; each subtask counts as one
reference-model call with the tokens of its first model call (no repair rounds), or,
when no model was called (tier 0 answered), with the instruction as input and the
answer as output at four characters per token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from typing_extensions import TypedDict

from trifecta.ledger import LedgerEntry
from trifecta.models import Price, Usage
from trifecta.verdict import SubtaskRow

__all__ = ["RoutingRow", "RoutingTable", "most_expensive", "routing_table"]


class RoutingRow(TypedDict):
    """One subtask's line of the routing table."""

    id: str
    specialist: str
    status: str
    tier: int | None
    solver: str | None
    model_calls: int
    cost_usd: float
    all_expensive_usd: float


class RoutingTable(TypedDict):
    """Per-subtask routing and the run's saving against the reference model."""

    reference_model: str | None
    rows: list[RoutingRow]
    cost_usd: float
    all_expensive_usd: float
    saving_usd: float


def most_expensive(models: Iterable[tuple[str, Price | None]]) -> tuple[str, Price] | None:
    """The (name, price) with the highest input + output price, or None if all are free."""
    priced = [(name, price) for name, price in models if price is not None]
    if not priced:
        return None
    name, price = max(priced, key=lambda p: p[1].input_per_mtok + p[1].output_per_mtok)
    return (name, price) if price.input_per_mtok + price.output_per_mtok > 0 else None


def _estimate(text: str) -> int:
    return len(text) // 4 + 1


def _subtask_counterfactual(row: SubtaskRow, calls: Sequence[LedgerEntry], price: Price) -> float:
    if calls:
        first = calls[0]
        usage = Usage(first["tokens_in"], first["tokens_out"])
    else:
        usage = Usage(_estimate(row["instruction"]), _estimate(row["answer"]))
    return price.cost(usage)


def routing_table(
    subtasks: Sequence[SubtaskRow],
    ledger: Sequence[LedgerEntry],
    reference: tuple[str, Price] | None,
) -> RoutingTable:
    """Build the table from a run's subtask rows and ledger."""
    price = reference[1] if reference else Price()
    calls: dict[str | None, list[LedgerEntry]] = {}
    for entry in ledger:
        if entry["kind"] == "model":
            calls.setdefault(entry["subtask"], []).append(entry)
    rows = [
        RoutingRow(
            id=row["id"],
            specialist=row["specialist"],
            status=row["status"],
            tier=row["tier"],
            solver=row["solver"],
            model_calls=row["model_calls"],
            cost_usd=row["cost_usd"],
            all_expensive_usd=round(
                _subtask_counterfactual(row, calls.get(row["id"], []), price), 8
            ),
        )
        for row in subtasks
    ]
    shared = calls.get(None, [])  # planner and merger
    cost = sum(e["cost_usd"] for e in ledger)
    expensive = sum(r["all_expensive_usd"] for r in rows) + sum(
        price.cost(Usage(e["tokens_in"], e["tokens_out"])) for e in shared
    )
    return RoutingTable(
        reference_model=reference[0] if reference else None,
        rows=rows,
        cost_usd=round(cost, 8),
        all_expensive_usd=round(expensive, 8),
        saving_usd=round(expensive - cost, 8),
    )
