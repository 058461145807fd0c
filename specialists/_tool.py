"""`ToolSolver`: any LangChain tool or `Runnable` as a specialist's tier."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import Runnable

from trifecta.ledger import Ledger
from trifecta.models import Privacy
from trifecta.specialists.base import Candidate, Job

__all__ = ["ToolSolver"]


@dataclass(frozen=True)
class ToolSolver:
    """A solver tier backed by a LangChain tool or any `Runnable`.

    Args:
        tool: called with ``await tool.ainvoke(args(job))`` (inside a graph run it
            inherits the run's callbacks, so it shows in ``astream_events`` and traces).
        args: builds the input from the job (default: the instruction, which a tool
            with one argument takes as that argument).
        label: shown in reports (default: the tool's name).
        privacy: ``cloud`` (the default: a tool may send its input anywhere), so a
            sensitive run skips this tier; ``local`` for a tool that keeps data on
            this machine.

    Its answer is ``str(output)`` (a `ToolMessage`'s or an `AIMessage`'s content); the
    specialist's verifier decides whether it is accepted, as for any tier.
    """

    tool: Runnable[Any, Any]
    args: Callable[[Job], Any] | None = None
    label: str | None = None
    privacy: Privacy = "cloud"
    repairable: bool = False

    @property
    def name(self) -> str:
        """The tier's name in reports."""
        return self.label or getattr(self.tool, "name", None) or type(self.tool).__name__

    async def solve(self, job: Job, ledger: Ledger) -> Candidate:
        """Invoke the tool on the job."""
        out = await self.tool.ainvoke(job.instruction if self.args is None else self.args(job))
        content = getattr(out, "content", out)
        return Candidate(answer=str(content), payload={"output": content})
