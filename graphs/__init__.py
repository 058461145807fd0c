"""The graph layer: the run's state, the escalation loop and the orchestrator graph."""

from trifecta.graphs.escalation import Outcome, run_specialist
from trifecta.graphs.nodes import Defaults
from trifecta.graphs.orchestrator import RESERVED_NODES, Graph, build_orchestrator, route_ready
from trifecta.graphs.state import Event, InputState, OutputState, RunContext, RunState

__all__ = [
    "RESERVED_NODES",
    "Defaults",
    "Event",
    "Graph",
    "InputState",
    "Outcome",
    "OutputState",
    "RunContext",
    "RunState",
    "build_orchestrator",
    "route_ready",
    "run_specialist",
]
