"""trifecta: verified multi-agent orchestration.

A generalist planner splits a request into subtasks, specialists solve them, a
deterministic check verifies each answer, and a merger writes the answer from
verified results only.
"""

from trifecta.config import Config, ConfigError, Limits, load_config
from trifecta.ledger import Budget, BudgetExceeded, Ledger, LedgerEntry, Report
from trifecta.plan import Plan, PlanError, Subtask, SubtaskSpec
from trifecta.runner import RequestError, RunResult, Trifecta
from trifecta.state import Event
from trifecta.verdict import ACCEPTED, CheckError, Result, Status, Verdict, check_error

__version__ = "0.1.0"

__all__ = [
    "ACCEPTED",
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
    "RunResult",
    "Status",
    "Subtask",
    "SubtaskSpec",
    "Trifecta",
    "Verdict",
    "__version__",
    "check_error",
    "load_config",
]
