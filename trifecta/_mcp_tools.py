"""What `trifecta mcp` exposes: the tools' argument and result types and their code.

Each tool goes through the same code as its command: ``check_math`` through
`check_math` (``trifecta check math``), ``check_sql`` through `check_db`, `connect` and
`check_queries` (``trifecta check sql``), ``search`` through `open_store` and
`hit_record` (``trifecta search --json``), ``run`` through `Trifecta.arun` (``trifecta
run --json``). Databases and stores are named by their aliases in the config; a caller
never passes a URL or a path. A failure (an unknown alias, a database that cannot be
opened, a request refused) raises `ToolError` with the checker's message, which the SDK
returns as a tool result with ``isError`` set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio.to_thread
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from trifecta._cli_docs import hit_record, open_store
from trifecta._preflight import check_db
from trifecta.checkpoint import redact_url
from trifecta.config import Config
from trifecta.errors import TrifectaError
from trifecta.runner import Trifecta

__all__ = [
    "Claim",
    "Hit",
    "MathResult",
    "McpTools",
    "RunOutput",
    "SearchResult",
    "SqlResult",
    "database_aliases",
]

MAX_CLAIMS = 1000  # claims per check_math call
ClaimKind = Literal[
    "value", "equal", "solve", "derivative", "antiderivative", "integral", "limit", "series"
]


class Claim(BaseModel):
    """One math claim, as a line of ``trifecta check math``."""

    model_config = ConfigDict(extra="forbid")

    id: str | int | None = Field(None, description="echoed in the verdict")
    kind: ClaimKind
    expr: str | list[str] = Field(description="the expression (solve: an equation or a list)")
    answer: str = Field(description="the claimed answer (SymPy syntax or LaTeX)")
    var: str | list[str] | None = Field(None, description="the variable(s)")
    lower: str | None = Field(None, description="integral: the lower bound")
    upper: str | None = Field(None, description="integral: the upper bound")
    point: str | None = Field(None, description="limit, series: the point")
    dir: Literal["+", "-"] | None = Field(None, description="limit: one side")
    order: int | None = Field(None, description="series: the order")
    assume: dict[str, str] | None = Field(
        None, description='assumptions per variable, e.g. {"x": "positive"}'
    )


class MathResult(BaseModel):
    """One verdict per claim, in order: ``{id, status, method, errors, elapsed_ms}``."""

    verdicts: list[dict[str, Any]]


class SqlResult(BaseModel):
    """The query's verdict (``checked`` or ``rejected`` with the rules that failed) and,
    when it ran, its columns and rows."""

    status: str
    errors: list[dict[str, Any]]
    columns: list[str] = []
    rows: list[list[Any]] = []
    row_count: int = 0
    truncated: bool = False
    sql_executed: str | None = None


class Hit(BaseModel):
    """One retrieved chunk."""

    id: str
    source: str
    score: float
    text: str


class SearchResult(BaseModel):
    """The best chunks, best first."""

    hits: list[Hit]


class RunOutput(BaseModel):
    """What ``trifecta run --json`` prints: the answer, each subtask with its status
    and evidence, and the report (tokens, cost, time)."""

    answer: str
    ok: bool
    subtasks: list[dict[str, Any]]
    report: dict[str, Any]
    thread_id: str
    error: str | None = None


def database_aliases(config: Config) -> dict[str, str]:
    """Alias → URL: ``[databases]``, and `db` as ``default`` unless that alias is taken."""
    found = dict(config.databases)
    if config.db and "default" not in found:
        found["default"] = config.db
    return found


def _known(kind: str, name: str, names: Any) -> None:
    if name not in names:
        listed = ", ".join(sorted(names)) or "none configured"
        raise ToolError(f"unknown {kind} {name!r} (known: {listed})")


def _scrub(message: str, url: str) -> str:
    """`message` without the database's URL or file path (a caller names aliases only)."""
    for secret in sorted({url, redact_url(url), url.removeprefix("sqlite:///")}, key=len)[::-1]:
        message = message.replace(secret, "<database>")
    return message.removeprefix("--db ").removeprefix("--db: ")


class McpTools:
    """The tools' code over one configuration; databases, stores and the orchestrator
    are opened on first use and kept."""

    def __init__(self, config: Config, build: Callable[[Config], Trifecta] | None = None) -> None:
        self.config = config
        self.databases = database_aliases(config)
        self._build = build or Trifecta.from_config
        self._app: Trifecta | None = None
        self._open: dict[str, Any] = {}

    async def check_math(
        self,
        claims: Annotated[
            list[Claim], Field(min_length=1, max_length=MAX_CLAIMS, description="the claims")
        ],
        timeout: Annotated[float, Field(gt=0, le=30, description="seconds per claim")] = 2.0,
    ) -> MathResult:
        """Check math claims with SymPy: one verdict per claim (verified, rejected or
        unverifiable) with its method and errors."""
        from trifecta.specialists.math import check_math, claim_line

        plain = [c.model_dump(exclude_none=True) for c in claims]
        verdicts = await anyio.to_thread.run_sync(lambda: list(check_math(plain, timeout=timeout)))
        return MathResult(verdicts=[claim_line(v) for v in verdicts])

    async def check_sql(
        self,
        database: Annotated[str, Field(description="a database alias from the config")],
        sql: Annotated[str, Field(min_length=1, max_length=100_000, description="one query")],
        max_rows: Annotated[int, Field(ge=1, le=10_000, description="row cap")] = 1000,
        timeout: Annotated[float, Field(gt=0, le=60, description="seconds")] = 5.0,
    ) -> SqlResult:
        """Check one SQL query (read-only, one statement, known tables and columns,
        allowlisted functions, a row cap) and run it read-only on a configured database."""
        from trifecta.specialists.sql import check_queries, query_line

        db = await anyio.to_thread.run_sync(self._database, database)
        item = {"sql": sql}
        verdict = await anyio.to_thread.run_sync(
            lambda: next(check_queries(db, [item], max_rows=max_rows, timeout=timeout))
        )
        out = query_line(verdict)
        out.pop("id")
        return SqlResult.model_validate(json.loads(json.dumps(out, default=str)))

    async def search(
        self,
        store: Annotated[str, Field(description="a store alias from the config")],
        collection: Annotated[str, Field(description="a collection of that store")],
        query: Annotated[str, Field(min_length=1, max_length=10_000)],
        k: Annotated[int, Field(ge=1, le=100, description="hits")] = 10,
        mode: Literal["hybrid", "dense", "lexical"] = "hybrid",
    ) -> SearchResult:
        """Search a document store (dense and BM25, fused by reciprocal rank): the best
        chunks with their source and text."""
        opened = await anyio.to_thread.run_sync(self._store, store, collection)
        hits = await anyio.to_thread.run_sync(lambda: opened.search(query, k, mode=mode))
        return SearchResult(hits=[Hit(**hit_record(h)) for h in hits])

    async def run(
        self,
        request: Annotated[str, Field(min_length=1, description="the request, in words")],
        sensitive: Annotated[bool, Field(description="never send it to a cloud model")] = False,
    ) -> RunOutput:
        """Answer a request: plan it into subtasks, solve each with a specialist (math,
        SQL, documents, MCP tools), check each answer, merge only what passed."""
        try:
            if self._app is None:
                self._app = await anyio.to_thread.run_sync(self._build, self.config)
            result = await self._app.arun(request, sensitive=sensitive)
        except TrifectaError as exc:
            raise ToolError(str(exc)) from exc
        return RunOutput(
            answer=result.answer,
            ok=result.ok,
            subtasks=json.loads(json.dumps(result.subtasks, default=str)),
            report=json.loads(json.dumps(dict(result.report), default=str)),
            thread_id=result.thread_id,
            error=result.error,
        )

    def database_schema(self, alias: str) -> str:
        """A configured database's dialect, tables and columns as JSON (never its URL)."""
        db = self._database(alias)
        tables = {t.name: {c.name: c.type for c in t.columns} for t in db.schema().tables.values()}
        return json.dumps({"alias": alias, "dialect": db.dialect, "tables": tables})

    def collections(self, alias: str) -> list[str]:
        """The collections of a configured store."""
        from trifecta.specialists.rag import list_collections

        _known("store", alias, self.config.stores)
        try:
            return list_collections(Path(self.config.stores[alias]))
        except TrifectaError as exc:
            raise ToolError(f"store {alias!r}: {exc}") from exc

    def collection_info(self, alias: str, collection: str) -> str:
        """A collection's chunk count and sources as JSON (never the store's path)."""
        opened = self._store(alias, collection)
        sources = sorted(
            {m["source"] for m in opened.collection.get(include=["metadatas"])["metadatas"]}
        )
        return json.dumps(
            {"store": alias, "collection": collection, "chunks": opened.count(), "sources": sources}
        )

    def _database(self, alias: str) -> Any:
        from trifecta.specialists.sql import connect

        _known("database", alias, self.databases)
        if alias not in self._open:
            url = self.databases[alias]
            try:
                check_db(url)
                self._open[alias] = connect(url)
            except (TrifectaError, OSError) as exc:
                raise ToolError(f"database {alias!r}: {_scrub(str(exc), url)}") from exc
        return self._open[alias]

    def _store(self, alias: str, collection: str) -> Any:
        key = f"{alias}\0{collection}"
        if key not in self._open:
            _known(f"collection of store {alias!r}", collection, self.collections(alias))
            try:
                self._open[key] = open_store(self.config.stores[alias], collection)
            except (TrifectaError, OSError) as exc:
                raise ToolError(f"store {alias!r}: {exc}") from exc
        return self._open[key]
