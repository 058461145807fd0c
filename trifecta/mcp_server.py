"""`trifecta mcp`: trifecta's checkers and orchestrator as an MCP server.

Tools (each with a JSON schema for its arguments and its result): ``run``,
``check_math``, ``check_sql``, ``search`` (see `trifecta._mcp_tools`). Resources: each
configured database (``trifecta://databases/<alias>``: dialect, tables, columns) and
each collection of each configured store (``trifecta://stores/<alias>/<collection>``:
chunk count and sources). Over stdio, or streamable HTTP at ``/mcp`` on 127.0.0.1 by
default, where the config's ``[server] api_keys`` are required as bearer keys, as for
`trifecta serve`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import anyio
from mcp.server.mcpserver import MCPServer

from trifecta import __version__
from trifecta._http import ApiKeyGate, HeaderLimit, uvicorn_options
from trifecta._mcp_tools import McpTools
from trifecta.config import Config
from trifecta.runner import Trifecta

__all__ = ["Transport", "build_server", "http_app", "serve_mcp"]

Transport = Literal["stdio", "http"]
_INSTRUCTIONS = (
    "trifecta checks answers deterministically. check_math verifies claims with SymPy; "
    "check_sql checks a query and runs it read-only on a configured database (name it by "
    "alias: see the trifecta://databases resources); search reads a configured document "
    "store; run answers a whole request with every part checked."
)


def build_server(config: Config, *, build: Callable[[Config], Trifecta] | None = None) -> MCPServer:
    """The MCP server over `config`; `build` makes the orchestrator for ``run`` (default
    `Trifecta.from_config`, on the first call)."""
    tools = McpTools(config, build)
    server: MCPServer = MCPServer(
        "trifecta", version=__version__, instructions=_INSTRUCTIONS, log_level="WARNING"
    )
    for fn in (tools.run, tools.check_math, tools.check_sql, tools.search):
        server.add_tool(fn, name=fn.__name__, structured_output=True)
    for alias in sorted(tools.databases):
        server.resource(
            f"trifecta://databases/{alias}",
            name=f"database {alias}",
            description=f"the tables and columns of database {alias!r} (for check_sql)",
            mime_type="application/json",
        )(_bound(tools.database_schema, alias))
    for alias in sorted(config.stores):
        for collection in tools.collections(alias):
            server.resource(
                f"trifecta://stores/{alias}/{collection}",
                name=f"collection {alias}/{collection}",
                description=f"collection {collection!r} of store {alias!r} (for search)",
                mime_type="application/json",
            )(_bound(tools.collection_info, alias, collection))
    return server


def _bound(fn: Callable[..., str], *args: str) -> Callable[[], str]:
    def read() -> str:
        return fn(*args)

    return read


def http_app(server: MCPServer, config: Config, host: str = "127.0.0.1") -> Any:
    """The streamable HTTP ASGI app (``/mcp``) behind the API-key gate and header limits."""
    app = server.streamable_http_app(host=host, json_response=True)
    settings = config.server
    gated = ApiKeyGate(app, settings.api_keys)
    return HeaderLimit(gated, max_headers=settings.max_headers, max_bytes=settings.max_header_bytes)


def serve_mcp(
    config: Config, transport: Transport = "stdio", host: str = "127.0.0.1", port: int = 8000
) -> None:
    """Serve until stopped (stdio: until the client closes standard input)."""
    server = build_server(config)
    if transport == "stdio":
        anyio.run(server.run_stdio_async)
        return
    import uvicorn

    uvicorn.run(
        http_app(server, config, host), host=host, port=port, log_level="warning",
        **uvicorn_options(config.server),
    )  # fmt: skip
