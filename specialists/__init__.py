"""Specialists: the protocol and the built-in math, SQL and RAG specialists."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from trifecta.models import ChatModel
from trifecta.specialists.base import (
    Candidate,
    CannotSolve,
    FunctionSolver,
    Job,
    ModelSolver,
    Outcome,
    Solver,
    Specialist,
    Verifier,
    run_specialist,
)

__all__ = [
    "Candidate",
    "CannotSolve",
    "FunctionSolver",
    "Job",
    "ModelSolver",
    "Outcome",
    "Solver",
    "Specialist",
    "Verifier",
    "default_specialists",
    "run_specialist",
]


def default_specialists(
    *,
    db: str | None = None,
    docs: str | Path | None = None,
    models: Sequence[ChatModel] = (),
    data_dir: Path | None = None,
) -> list[Specialist]:
    """Math always; SQL when `db` is given; RAG when `docs` is given.

    Args:
        db: database URL for the SQL specialist.
        docs: folder of documents for the RAG specialist (ingested into a store under
            ``data_dir/stores``).
        models: model tiers for every specialist, cheapest first.
        data_dir: the data dir (default: `default_data_dir()`).
    """
    from trifecta.specialists.math import math_specialist
    from trifecta.specialists.rag import rag_specialist
    from trifecta.specialists.sql import sql_specialist

    found = [math_specialist(models)]
    if db:
        found.append(sql_specialist(db, models))
    if docs:
        found.append(
            rag_specialist(docs, models, store_root=data_dir / "stores" if data_dir else None)
        )
    return found
