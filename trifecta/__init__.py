"""trifecta: verified multi-agent orchestration.

A generalist planner splits a request into subtasks, specialists solve them, a
deterministic check verifies each answer, and a merger writes the answer from
verified results only.

A finished or running thread reads back as the run inspector shows it:
``snapshot_view(await app.snapshot(thread_id), thread_id, running=False)`` is its data (a
`RunView`, JSON-ready), ``render_page(view)`` the self-contained HTML page, and
``audit_view(config)`` what verifying the configured audit log finds, for its header.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trifecta._inspect_page import render_page
    from trifecta._inspect_view import RunView, audit_view, snapshot_view
    from trifecta.config import Config, ConfigError, Limits, load_config
    from trifecta.errors import RunError, TrifectaError, UserError
    from trifecta.graphs.state import Event
    from trifecta.ledger import Budget, BudgetExceeded, Ledger, LedgerEntry, Report
    from trifecta.plan import Plan, PlanError, Subtask, SubtaskSpec
    from trifecta.result import RunResult
    from trifecta.runner import RequestError, Trifecta
    from trifecta.verdict import ACCEPTED, CheckError, Result, Status, Verdict, check_error

__version__ = "0.1.0"

__all__ = [
    "ACCEPTED",
    "Approval",
    "Budget",
    "BudgetExceeded",
    "CheckError",
    "Config",
    "ConfigError",
    "Event",
    "Ledger",
    "LedgerEntry",
    "Limits",
    "Plan",
    "PlanError",
    "Report",
    "RequestError",
    "Result",
    "RunContext",
    "RunError",
    "RunResult",
    "RunView",
    "Status",
    "Subtask",
    "SubtaskSpec",
    "Trifecta",
    "TrifectaError",
    "UserError",
    "Verdict",
    "__version__",
    "audit_view",
    "check_error",
    "load_config",
    "render_page",
    "snapshot_view",
]

_LAZY = {
    "Approval": "trifecta.approval",
    "RunContext": "trifecta.graphs.state",
    "RunError": "trifecta.errors",
    "TrifectaError": "trifecta.errors",
    "UserError": "trifecta.errors",
    "Config": "trifecta.config",
    "ConfigError": "trifecta.config",
    "Limits": "trifecta.config",
    "load_config": "trifecta.config",
    "Budget": "trifecta.ledger",
    "BudgetExceeded": "trifecta.ledger",
    "Ledger": "trifecta.ledger",
    "LedgerEntry": "trifecta.ledger",
    "Report": "trifecta.ledger",
    "Plan": "trifecta.plan",
    "PlanError": "trifecta.plan",
    "Subtask": "trifecta.plan",
    "SubtaskSpec": "trifecta.plan",
    "RequestError": "trifecta.runner",
    "RunResult": "trifecta.result",
    "Trifecta": "trifecta.runner",
    "Event": "trifecta.graphs.state",
    "ACCEPTED": "trifecta.verdict",
    "CheckError": "trifecta.verdict",
    "Result": "trifecta.verdict",
    "Status": "trifecta.verdict",
    "Verdict": "trifecta.verdict",
    "check_error": "trifecta.verdict",
    "RunView": "trifecta._inspect_view",
    "audit_view": "trifecta._inspect_view",
    "snapshot_view": "trifecta._inspect_view",
    "render_page": "trifecta._inspect_page",
}


def __getattr__(name: str) -> Any:
    """Import the public names on first use, so ``import trifecta.verdict`` stays light."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trifecta' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
