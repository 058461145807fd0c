"""`Trifecta.as_tool()`: the orchestrator as a LangChain tool for a supervisor agent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from trifecta.graphs._sync import run_sync
from trifecta.result import RunResult

if TYPE_CHECKING:
    from trifecta.runner import Trifecta

__all__ = ["as_tool"]


class _Ask(BaseModel):
    request: str = Field(
        description="The question or task in plain language; independent parts may be "
        "asked together and run in parallel."
    )


def _content(result: RunResult) -> str:
    ok = sum(s["status"] in ("verified", "checked") for s in result.subtasks)
    status = (
        "all parts verified"
        if result.ok
        else f"{ok} of {len(result.subtasks)} part(s) verified; do not rely on the others"
    )
    return f"{result.answer}\n[trifecta: {status}]"


def as_tool(app: Trifecta, *, name: str, description: str | None) -> BaseTool:
    """`app` as a tool taking ``request``; its content is the answer with a verification
    line, its artifact the `RunResult` as a dict (``response_format="content_and_artifact"``)."""

    async def arun(request: str) -> tuple[str, dict[str, Any]]:
        result = await app.arun(request)
        return _content(result), result.to_dict()

    def run(request: str) -> tuple[str, dict[str, Any]]:
        return run_sync(arun(request))

    what = "; ".join(f"{s.name}: {s.description}" for s in app.specialists)
    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=name,
        description=description
        or f"Answers requests with checked specialists ({what}). Each part of the answer "
        "is labelled verified, checked or unverifiable.",
        args_schema=_Ask,
        response_format="content_and_artifact",
    )
