"""The graph layer: the run's state, the escalation loop and the orchestrator graph."""

from trifecta.graphs.escalation import Outcome, run_specialist
from trifecta.graphs.orchestrator import RESERVED_NODES, build_orchestrator, route_ready
from trifecta.graphs.state import Event, RunContext, RunState

__all__ = [
    "RESERVED_NODES",
    "Event",
    "Outcome",
    "RunContext",
    "RunState",
    "build_orchestrator",
    "route_ready",
    "run_specialist",
]
