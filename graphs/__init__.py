"""Graph builders."""

from trifecta.graphs.orchestrator import RESERVED_NODES, build_orchestrator, route_ready

__all__ = ["RESERVED_NODES", "build_orchestrator", "route_ready"]
