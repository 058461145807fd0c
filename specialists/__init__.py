"""Specialists: the protocol and the built-in math, SQL and RAG specialists."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trifecta.models import ChatModel
from trifecta.specialists._tool import ToolSolver
from trifecta.specialists.base import (
    Candidate,
    CannotSolve,
    FunctionSolver,
    Job,
    ModelSolver,
    Solver,
    Specialist,
    Verifier,
    is_transient,
    transient_retry,
)

if TYPE_CHECKING:
    from trifecta.specialists._mcp import McpEndpoint, McpSolver, mcp_specialists

_LAZY = dict.fromkeys(("McpEndpoint", "McpSolver", "mcp_specialists"), "trifecta.specialists._mcp")

__all__ = [
    "Candidate",
    "CannotSolve",
    "FunctionSolver",
    "Job",
    "McpEndpoint",
    "McpSolver",
    "ModelSolver",
    "Solver",
    "Specialist",
    "ToolSolver",
    "Verifier",
    "default_specialists",
    "is_transient",
    "mcp_specialists",
    "transient_retry",
]


def default_specialists(
    *,
    db: str | None = None,
    docs: str | Path | None = None,
    models: Sequence[ChatModel] = (),
    data_dir: Path | None = None,
    chains: Callable[[str], Sequence[ChatModel]] | None = None,
    approve_sql: bool = False,
) -> list[Specialist]:
    """Math always; SQL when `db` is given; RAG when `docs` is given.

    Args:
        db: database URL for the SQL specialist.
        docs: folder of documents for the RAG specialist (ingested into a store under
            ``data_dir/stores``).
        models: model tiers for every specialist, cheapest first.
        data_dir: the data dir (default: `default_data_dir()`).
        chains: the model tiers of a specialist by name (overrides `models`).
        approve_sql: pause for a person's approval before each query runs (the ``sql``
            gate of `trifecta.approval`).
    """
    from trifecta.specialists.math import math_specialist

    tiers = chains or (lambda name: models)
    found = [math_specialist(tiers("math"))]
    if db:
        from trifecta.specialists.sql import sql_specialist

        found.append(sql_specialist(db, tiers("sql"), approve=approve_sql))
    if docs:  # chromadb and the embedding runtime load only when there are documents
        from trifecta.specialists.rag import rag_specialist

        root = data_dir / "stores" if data_dir else None
        found.append(rag_specialist(docs, tiers("rag"), store_root=root))
    return found


def __getattr__(name: str) -> Any:
    """The MCP names load the MCP client code on first use (an offline run never needs it)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
