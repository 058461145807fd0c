"""MCP tools as specialists: `McpSolver` calls one tool of any MCP server as a tier;
`mcp_specialists` turns a ``[mcp.<name>]`` config entry into one specialist per tool.

The server is reached with the official `mcp` SDK's client, over stdio (a command this
process starts) or streamable HTTP, one session per call. The `mcp` package is needed
only when MCP is configured (the ``mcp`` extra).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from trifecta.config import ConfigError, McpSpec
from trifecta.ledger import Ledger
from trifecta.models import Privacy
from trifecta.sandbox import FORK_LOCK
from trifecta.specialists.base import Candidate, CannotSolve, Job, Specialist, Verifier
from trifecta.verdict import Verdict, check_error

__all__ = ["McpEndpoint", "McpSolver", "mcp_specialists", "tool_arguments"]


@dataclass(frozen=True)
class McpEndpoint:
    """How to reach an MCP server: a command spoken to over stdio, or a URL.

    Args:
        command: the server's argv (stdio).
        url: a streamable HTTP endpoint.
        env: extra environment variables for `command`.
        headers: HTTP headers for `url` (``Authorization: Bearer …``).
        timeout_s: seconds to connect and finish one call.
    """

    command: tuple[str, ...] = ()
    url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Any]:
        """An initialized `mcp.ClientSession`."""
        from mcp import ClientSession

        async with AsyncExitStack() as stack:
            if self.url:
                read, write = await stack.enter_async_context(self._http(stack))
            else:
                while not FORK_LOCK.acquire(blocking=False):  # see FORK_LOCK; never blocks the loop
                    await anyio.sleep(0.001)
                try:
                    read, write = await stack.enter_async_context(self._stdio())
                finally:
                    FORK_LOCK.release()
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()
            yield session

    def _stdio(self) -> Any:
        from mcp import StdioServerParameters, stdio_client
        from mcp.client.stdio import get_default_environment

        env = {**get_default_environment(), **self.env}
        params = StdioServerParameters(
            command=_program(self.command[0], env), args=list(self.command[1:]), env=env
        )
        return stdio_client(params)

    @asynccontextmanager
    async def _http(self, stack: AsyncExitStack) -> AsyncIterator[Any]:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=dict(self.headers), timeout=self.timeout_s)
        )
        async with streamable_http_client(self.url or "", http_client=http) as streams:
            yield streams

    async def list_tools(self) -> list[Any]:
        """The server's tools (`mcp.types.Tool`: name, description, input schema)."""
        with anyio.fail_after(self.timeout_s):
            async with self.session() as session:
                return list((await session.list_tools()).tools)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """One `mcp.types.CallToolResult`."""
        with anyio.fail_after(self.timeout_s):
            async with self.session() as session:
                return await session.call_tool(name, arguments)


def _program(command: str, env: Mapping[str, str]) -> str:
    """A bare program name found on PATH, else beside the running Python (the scripts of
    its virtual environment, which need not be on PATH)."""
    if os.sep in command:
        return command
    beside = os.path.dirname(sys.executable)
    found = shutil.which(command, path=env.get("PATH")) or shutil.which(command, path=beside)
    return found or command


def tool_arguments(
    job: Job, schema: Mapping[str, Any], match: re.Pattern[str] | None = None
) -> dict[str, Any]:
    """The tool's arguments for a job: the instruction when it is a JSON object; else
    the named groups of `match` in it; else the whole instruction as the one required
    string argument.

    Raises:
        CannotSolve: none of these applies.
    """
    text = job.instruction.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    if match is not None and (found := match.search(text)):
        return {k: v for k, v in found.groupdict().items() if v is not None}
    properties = schema.get("properties") or {}
    required = list(schema.get("required") or [])
    if len(required) == 1 and (properties.get(required[0]) or {}).get("type") == "string":
        return {required[0]: text}
    raise CannotSolve(
        f"cannot build the arguments {sorted(properties)} from the instruction "
        "(give them as a JSON object, or configure a match pattern)"
    )


def _pick(structured: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(structured, dict) or part not in structured:
            raise CannotSolve(f"the tool's result has no {path!r}")
        structured = structured[part]
    return structured


@dataclass(frozen=True)
class McpSolver:
    """A solver tier that calls one tool of an MCP server.

    Args:
        endpoint: the server.
        tool: the tool's name.
        arguments: builds the tool's arguments from the job (default: `tool_arguments`
            over `schema` and `match`).
        schema: the tool's input schema.
        match: a pattern whose named groups are arguments.
        answer: a dotted path into the structured result to use as the answer (default:
            the result's text).
        label: shown in reports (default ``mcp:<tool>``).
        privacy: ``cloud`` (the default: the server may send its input anywhere), so a
            sensitive run skips this tier; ``local`` for one that keeps data here.

    A result with ``isError`` set passes to the next tier (`CannotSolve`, with the
    tool's message). The candidate's payload holds ``tool``, ``arguments``,
    ``structured`` (the structured result, if any) and ``text``: what a verifier checks.
    """

    endpoint: McpEndpoint
    tool: str
    arguments: Callable[[Job], dict[str, Any]] | None = None
    schema: Mapping[str, Any] = field(default_factory=dict)
    match: re.Pattern[str] | None = None
    answer: str | None = None
    label: str | None = None
    privacy: Privacy = "cloud"
    repairable: bool = False

    @property
    def name(self) -> str:
        """The tier's name in reports."""
        return self.label or f"mcp:{self.tool}"

    async def solve(self, job: Job, ledger: Ledger) -> Candidate:
        """Call the tool with the job's arguments."""
        if self.arguments is None:
            args = tool_arguments(job, self.schema, self.match)
        else:
            args = self.arguments(job)
        result = await self.endpoint.call_tool(self.tool, args)
        text = "\n".join(b.text for b in result.content if getattr(b, "type", "") == "text")
        if result.is_error:
            raise CannotSolve(f"{self.tool} returned an error: {text or 'no message'}")
        structured = result.structured_content
        answer = text if self.answer is None else str(_pick(structured, self.answer))
        payload = {"tool": self.tool, "arguments": args, "structured": structured, "text": text}
        return Candidate(answer=answer, payload=payload)


def unverifiable(job: Job, candidate: Candidate) -> Verdict:
    """The verifier of a tool configured without one: its answer is never accepted."""
    message = f"no verifier is configured for {job.specialist}; its answer is unchecked"
    return Verdict("unverifiable", "none", errors=(check_error("verifier", message),))


def _verifier(name: str, path: str | None) -> Verifier:
    if path is None:
        return unverifiable
    module, _, attr = path.partition(":")
    try:
        found = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"mcp.{name}.verify: cannot import {path!r}: {exc}") from exc
    if not callable(found):
        raise ConfigError(f"mcp.{name}.verify: {path!r} is not a function")
    return found  # type: ignore[no-any-return]


def _endpoint(name: str, spec: McpSpec, env: Mapping[str, str]) -> McpEndpoint:
    headers = {}
    if spec.api_key_env:
        key = env.get(spec.api_key_env)
        if not key:
            raise ConfigError(f"mcp.{name}: the environment variable {spec.api_key_env} is unset")
        headers["Authorization"] = f"Bearer {key}"
    return McpEndpoint(spec.command, spec.url, spec.env, headers, spec.timeout_s)


async def mcp_specialists(
    name: str, spec: McpSpec, env: Mapping[str, str] | None = None
) -> list[Specialist]:
    """One specialist per tool of the ``[mcp.<name>]`` server, named ``<name>.<tool>``,
    checked by the configured verifier (or labelled ``unverifiable``); the offline
    planner routes to it the clauses `spec.match` finds.

    Raises:
        ConfigError: the verifier cannot be imported, a named tool does not exist, the
            server cannot be reached.
    """
    endpoint = _endpoint(name, spec, os.environ if env is None else env)
    try:
        listed = {t.name: t for t in await endpoint.list_tools()}
    except Exception as exc:  # a command that fails, a refused connection, a timeout
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"mcp.{name}: cannot list the server's tools: {reason}") from exc
    missing = sorted(set(spec.tools) - set(listed))
    if missing:
        raise ConfigError(f"mcp.{name}: no tool {missing} (the server has {sorted(listed)})")
    verify = _verifier(name, spec.verify)
    match = re.compile(spec.match) if spec.match else None
    return [
        _specialist(name, spec, endpoint, listed[tool], verify, match)
        for tool in (spec.tools or sorted(listed))
    ]


def _specialist(
    name: str,
    spec: McpSpec,
    endpoint: McpEndpoint,
    tool: Any,
    verify: Verifier,
    match: re.Pattern[str] | None,
) -> Specialist:
    schema = dict(tool.input_schema or {})
    solver = McpSolver(
        endpoint, tool.name, schema=schema, match=match, answer=spec.answer, privacy=spec.privacy
    )
    described = spec.description or tool.description or f"the MCP tool {tool.name}"
    arguments = json.dumps(schema.get("properties", {}))
    description = f"{described} (instruction: a JSON object of the arguments {arguments})"
    return Specialist(
        name=f"{name}.{tool.name}",
        description=description,
        tiers=[solver],
        verify=verify,
        affinity=(lambda clause: 1.0 if match.search(clause) else 0.0) if match else None,
    )
