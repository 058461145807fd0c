"""The `trifecta` command line's arguments. Building them loads no command's code: a
command's modules load when it runs (`trifecta run` never loads the inspector, the
evaluation runner or the document store)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from trifecta import __version__
from trifecta._cli_logging import add_log_options
from trifecta.evaluation._suites import BUILTIN_SUITES

__all__ = ["build_parser"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML config file (default: ./trifecta.toml)")
    parser.add_argument("--data-dir", type=Path, help="where checkpoints and demo data live")
    parser.add_argument(
        "--model", help="model name at an OpenAI-compatible endpoint (none: offline)"
    )
    parser.add_argument(
        "--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1"
    )
    parser.add_argument(
        "--checkpoint", help="checkpointer: sqlite:///file, postgresql://..., memory"
    )
    parser.add_argument("--max-tokens", type=int, help="token budget for the run")
    parser.add_argument("--max-cost", type=float, help="cost budget in USD")
    parser.add_argument("--max-seconds", type=float, help="wall-time budget in seconds")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--log-content",
        action="store_true",
        help="log records carry requests, prompts, replies and answers (never a sensitive run's)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The `trifecta` command line's arguments, every command's (no command's code loads)."""
    parser = argparse.ArgumentParser(
        prog="trifecta", description="Verified multi-agent orchestration."
    )
    parser.add_argument("--version", action="version", version=f"trifecta {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run", help="answer a request", description="Plan, solve, verify and merge one request."
    )
    run.add_argument("request", help="the request, in quotes; - reads it from standard input")
    run.add_argument("--db", help="database URL for the SQL specialist (sqlite:///shop.sqlite)")
    run.add_argument("--docs", help="folder of documents for the RAG specialist")
    run.add_argument("--thread", help="thread id to store the run under (default: new)")
    run.add_argument("--audit-log", help="append the run's hash-chained audit records to this file")
    run.add_argument(
        "--audit-content", action="store_true", help="store prompts and responses in the audit log"
    )
    run.add_argument(
        "--sensitive", action="store_true", help="never send this request to a cloud model"
    )
    run.add_argument(
        "--approve",
        action="store_true",
        help="ask on the terminal before a cloud model, a SQL query or going over budget "
        "(the gates in the config, or all of them)",
    )
    _common(run)
    demo = commands.add_parser(
        "demo",
        help="run the offline demo",
        description="Build sample data and run a three-part request offline.",
    )
    _common(demo)
    resume = commands.add_parser(
        "resume",
        help="resume an interrupted run",
        description="Continue a run from its last checkpoint.",
    )
    resume.add_argument("thread", help="the thread id of the run")
    resume.add_argument("--answer", help="the answer to what the paused run asks (yes/no)")
    _common(resume)
    _check_parser(commands)
    _docs_parsers(commands)
    _eval_parser(commands)
    _audit_parser(commands)
    _inspect_parser(commands)
    serve = commands.add_parser(
        "serve",
        help="serve an OpenAI-compatible chat endpoint",
        description="POST /v1/chat/completions (plain and streaming), GET /v1/models, GET /healthz, "
        "and the run inspector: GET /runs, /runs/{conversation} and /runs/{conversation}.json.",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", help="database URL for the SQL specialist")
    serve.add_argument("--docs", help="folder of documents for the RAG specialist")
    _common(serve)
    mcp = commands.add_parser(
        "mcp",
        help="serve the checkers and the orchestrator over MCP",
        description="An MCP server with the tools run, check_math, check_sql and search, and the "
        "configured databases and collections as resources.",
    )
    mcp.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    mcp.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    mcp.add_argument("--db", help="database URL, alias 'default' for check_sql")
    mcp.add_argument("--docs", help="folder of documents for the RAG specialist")
    _common(mcp)
    for name, command in commands.choices.items():
        add_log_options(command, "info" if name == "serve" else "warning")
    return parser


def _check_parser(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="verify claims read as JSON lines",
        description="Read JSON lines on stdin, write one verdict per line in the same order.",
    )
    kinds = check.add_subparsers(dest="checker", required=True, metavar="CHECKER")
    math = kinds.add_parser(
        "math",
        help="check math claims with SymPy",
        description='Each line is a claim such as {"id": "c1", "kind": "value", "expr": "2+2", "answer": "4"}; '
        "kinds: value, equal, solve, derivative, antiderivative, integral, limit, series. "
        'Each output line is {"id", "status", "method", "errors", "elapsed_ms"}.',
    )
    math.add_argument("--timeout", type=float, default=2.0, help="seconds per claim (default 2)")
    math.add_argument("--workers", type=int, help="claims checked at once (default: one per core)")
    sql = kinds.add_parser(
        "sql",
        help="check SQL queries and run them read-only",
        description='Each line is {"id", "sql"}; each output line is {"id", "status": "checked" | "rejected", '
        '"errors": [{"rule", "message"}], "columns", "rows", "row_count", "truncated", "sql_executed"}.',
    )
    sql.add_argument("--db", required=True, help="sqlite:///file, postgresql://… or mysql://…")
    sql.add_argument(
        "--dialect", help="dialect the queries are written in (default: the database's)"
    )
    sql.add_argument(
        "--max-rows", type=int, default=1000, help="row cap added to every query (default 1000)"
    )
    sql.add_argument("--timeout", type=float, default=5.0, help="seconds per query (default 5)")


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", required=True, help="store directory (Chroma files and the lexical index)"
    )
    parser.add_argument(
        "--collection", default="documents", help="collection name (default: documents)"
    )
    parser.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    parser.add_argument(
        "--embed-model",
        help="embedding model at an OpenAI-compatible endpoint (default: offline MiniLM)",
    )
    parser.add_argument(
        "--embed-url", help="the endpoint for --embed-model, e.g. http://127.0.0.1:8080/v1"
    )


def _docs_parsers(commands: Any) -> None:
    ingest = commands.add_parser(
        "ingest",
        help="add documents to a store",
        description="Chunk and embed text, Markdown, HTML and PDF files; unchanged files are skipped, "
        "changed files replace their old chunks.",
    )
    ingest.add_argument("paths", nargs="+", help="files or folders")
    ingest.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="ingest symlinks in a folder that lead outside it (skipped by default)",
    )
    _store_options(ingest)
    search = commands.add_parser(
        "search", help="search a store", description="Hybrid (dense + BM25, fused by RRF) search."
    )
    search.add_argument("query")
    search.add_argument("-k", type=int, default=10, help="results (default 10)")
    search.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default="hybrid")
    search.add_argument(
        "--where", help='metadata filter as JSON, e.g. {"source": "docs/returns.md"}'
    )
    search.add_argument(
        "--json", action="store_true", help='print [{"id", "source", "score", "text"}]'
    )
    _store_options(search)


def _eval_parser(commands: Any) -> None:
    ev = commands.add_parser(
        "eval",
        help="compare configurations on a suite of questions",
        description=(
            "Run a suite against one or more configurations; print accuracy, share verified, "
            "cost per question and per correct answer, latency p50/p95 and escalation rate; "
            "write eval.json, frontier.png and frontier.html. Exit 1 when a configuration "
            "misses a threshold, 2 on bad input."
        ),
    )
    ev.add_argument("suite", help=f"{', '.join(BUILTIN_SUITES)}, or a JSONL file of questions")
    ev.add_argument("--config", action="append", type=Path, default=[],
                    help="a configuration (TOML) to evaluate; repeat to compare several")  # fmt: skip
    ev.add_argument("--suite-data", type=Path, default=Path("../shared/data"),
                    help="benchmark data for the built-in suites (default ../shared/data)")  # fmt: skip
    ev.add_argument("--limit", type=int, help="only the first N questions")
    ev.add_argument("--out", type=Path, default=Path("eval-results"),
                    help="where to write eval.json and the frontier plot (default eval-results)")  # fmt: skip
    ev.add_argument("--executor", choices=("local", "ray"), default="local")
    ev.add_argument("--ray-address", help="a running Ray cluster (default: start a local one)")
    ev.add_argument("--jobs", type=int, default=4, help="questions in flight per process")
    ev.add_argument("--min-accuracy", type=float, help="fail below this accuracy (0..1)")
    ev.add_argument("--min-verified", type=float, help="fail below this share verified (0..1)")
    ev.add_argument("--max-cost-per-question", type=float, help="fail above this USD cost")
    ev.add_argument("--json", action="store_true", help="print the summaries as JSON")


def _audit_parser(commands: Any) -> None:
    audit = commands.add_parser("audit", help="audit-log tools", description="Audit-log tools.")
    tools = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = tools.add_parser(
        "verify",
        help="verify an audit log",
        description="Exit 0 when intact; 1 listing every edited, removed, inserted, reordered "
        "or truncated record, torn or garbage line, and head mismatch. Says what was proven: "
        "with the key, records are authenticated; without it, only the hash chain is checked.",
    )
    verify.add_argument("file")
    verify.add_argument("--key-file", help="the audit key file (default: the config's)")
    verify.add_argument("--key-env", help="environment variable holding the audit key")
    verify.add_argument("--config", type=Path, help="TOML config file (key and checkpoint)")
    verify.add_argument("--data-dir", type=Path, help="data dir of the default checkpoint file")
    verify.add_argument("--checkpoint", help="checkpoint database holding the log's head")
    keygen = tools.add_parser(
        "keygen",
        help="write a new audit key",
        description="Write 32 random bytes, hex, to a new file (mode 0600). Point the config at "
        'it (audit_key_file = "FILE") or export it in the variable named by audit_key_env.',
    )
    keygen.add_argument("file")


def _inspect_parser(commands: Any) -> None:
    inspect = commands.add_parser(
        "inspect",
        help="write one run as a self-contained HTML page",
        description="Read a thread's last checkpoint and write its current turn as one HTML "
        "file that needs no network to view: the plan as a DAG, a timeline of subtasks and "
        "attempts, every attempt's tier, tokens, cost, verdict and evidence. With --json, "
        "print the same data as JSON.",
    )
    inspect.add_argument(
        "thread",
        help="the thread id (`trifecta run` prints it; a served conversation is "
        "key-<digest>/<conversation> when the server has API keys)",
    )
    inspect.add_argument(
        "-o", "--output", type=Path, help="the HTML file to write (default: run-<thread>.html)"
    )
    _common(inspect)
