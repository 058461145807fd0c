"""The graph for tools that load LangGraph graphs by path: ``langgraph dev``, LangGraph
Studio and the LangGraph server read ``trifecta/studio.py:graph`` (see ``langgraph.json``).

It is configured the usual way (``$TRIFECTA_CONFIG`` or ``./trifecta.toml``, then the
``TRIFECTA_*`` environment) and compiled without a checkpointer: the platform brings
its own. Inputs are ``{"request": ...}`` or ``{"messages": [...]}``; the context schema
is `trifecta.graphs.RunContext` (``budget``, ``sensitive``).
"""

from __future__ import annotations

from langgraph.graph.state import CompiledStateGraph

from trifecta.config import load_config
from trifecta.graphs import InputState, OutputState, RunContext, RunState
from trifecta.runner import Trifecta

__all__ = ["graph", "make_graph"]


def make_graph() -> CompiledStateGraph[RunState, RunContext, InputState, OutputState]:
    """Build the configured orchestrator and compile its graph with no checkpointer."""
    return Trifecta.from_config(load_config()).graph().compile(name="trifecta")


graph = make_graph()
