"""The `trifecta` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from trifecta import __version__
from trifecta._cli_audit import add_audit_parser, run_audit
from trifecta._cli_docs import add_commands, run_ingest, run_search
from trifecta._cli_inspect import add_inspect_parser, run_inspect
from trifecta._cli_logging import add_log_options, configure_logging
from trifecta._preflight import check_aliases, check_config, check_db, check_listen, fail
from trifecta.approval import GATES
from trifecta.config import Config, ConfigError, load_config
from trifecta.demo import DEMO_REQUEST, build_demo_data
from trifecta.errors import RunError, TrifectaError
from trifecta.evaluation._cli import add_eval_parser, run_eval
from trifecta.graphs.state import Event
from trifecta.ledger import Budget
from trifecta.result import RunResult
from trifecta.runner import Trifecta

__all__ = ["main"]

_err = Console(stderr=True)


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


def _parser() -> argparse.ArgumentParser:
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
    add_commands(commands)
    add_eval_parser(commands)
    add_audit_parser(commands)
    add_inspect_parser(commands, _common)
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


def _read_json_lines(stream: Any) -> Iterator[Any]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError as exc:
            yield ValueError(f"line {number}: invalid JSON: {exc}")


def _check(args: argparse.Namespace) -> int:
    # Read fd 0 through a file object of our own: a worker forked while this thread is
    # blocked in `sys.stdin`'s read would inherit its held lock, and multiprocessing's
    # child start-up closes `sys.stdin`, which then waits forever (a timeout per claim).
    stream = open(sys.stdin.fileno(), encoding="utf-8", closefd=False)  # noqa: SIM115
    lines = _read_json_lines(stream)
    if args.checker == "math":
        from trifecta.specialists.math import check_math, claim_line

        checked = check_math(lines, timeout=args.timeout, workers=args.workers)
        verdicts: Iterator[dict[str, Any]] = (claim_line(v) for v in checked)
    else:
        from trifecta.specialists.sql import check_queries, connect, query_line

        try:
            check_db(args.db)
            database = connect(args.db)
        except (TrifectaError, OSError) as exc:
            return fail(exc, code=_exit_code(exc))
        queries = check_queries(
            database, lines, read=args.dialect, max_rows=args.max_rows, timeout=args.timeout
        )
        verdicts = (query_line(v) for v in queries)
    for verdict in verdicts:
        print(json.dumps(verdict, default=str), flush=True)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from trifecta.server import create_app, uvicorn_options

    try:
        check_listen(args.host, args.port)
        config = _config(args, db=args.db, docs=args.docs)
        check_config(config)
    except ConfigError as exc:
        return fail(exc)
    uvicorn.run(
        create_app(config, address=f"http://{args.host}:{args.port}"), host=args.host,
        port=args.port, log_level="warning", log_config=None, access_log=False,
        **uvicorn_options(config.server),
    )  # fmt: skip
    return 0


def _mcp(args: argparse.Namespace) -> int:
    try:
        from trifecta.mcp_server import serve_mcp
    except ImportError as exc:
        return fail(f"trifecta mcp needs the mcp extra: pip install 'trifecta[mcp]' ({exc})")
    try:
        if args.transport == "http":
            check_listen(args.host, args.port)
        config = _config(args, db=args.db, docs=args.docs)
        check_config(config)
        check_aliases(config)
        serve_mcp(config, args.transport, args.host, args.port)
    except (TrifectaError, OSError) as exc:
        return fail(exc, code=_exit_code(exc))
    return 0


def _tool(args: argparse.Namespace) -> int:
    runners = {"check": _check, "ingest": run_ingest, "search": run_search}
    try:
        return runners[args.command](args)
    except (TrifectaError, OSError) as exc:
        return fail(exc, code=_exit_code(exc))


def _exit_code(exc: BaseException) -> int:
    """3 when a model, database or store failed while running; 2 for bad input."""
    return 3 if isinstance(exc, RunError) else 2


def _config(args: argparse.Namespace, **extra: Any) -> Config:
    budget = None
    if args.max_tokens is not None or args.max_cost is not None or args.max_seconds is not None:
        budget = Budget(args.max_tokens, args.max_cost, args.max_seconds)
    return load_config(
        args.config,
        model=args.model,
        base_url=args.base_url,
        data_dir=args.data_dir,
        checkpoint=args.checkpoint,
        budget=budget,
        log_content=args.log_content or None,
        **extra,
    )


def _progress(event: Event) -> None:
    if event.kind == "planned":
        names = ", ".join(f"{s['id']}→{s['specialist']}" for s in event.data)
        _err.print(f"[dim]planned {len(event.data)} subtask(s): {escape(names)}[/dim]")
    elif event.kind == "subtask":
        r = event.data
        line = f"{r['id']} {r['specialist']}: {r['status']} in {r['elapsed_s']:.2f}s"
        _err.print(f"[dim]{escape(line)}[/dim]")


def _table(result: RunResult) -> Table:
    table = Table(title=Text(f"thread {result.thread_id}"))
    for column in ("id", "specialist", "status", "tier", "time", "cost"):
        table.add_column(column)
    for row in result.subtasks:
        tier = "-" if row["tier"] is None else f"{row['tier']} ({row['solver']})"
        cells = (row["id"], row["specialist"], row["status"], tier)
        table.add_row(
            *(Text(str(c)) for c in cells), f"{row['elapsed_s']:.3f}s", f"${row['cost_usd']:.6f}"
        )
    return table


def _print(result: RunResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return
    out = Console()
    out.print(result.answer, markup=False, highlight=False, soft_wrap=True)
    out.print(_table(result))
    routing = result.routing
    if routing and routing["reference_model"]:
        out.print(
            f"routing: ${routing['cost_usd']:.6f} spent; all {routing['reference_model']}: "
            f"${routing['all_expensive_usd']:.6f} (estimated); saved ${routing['saving_usd']:.6f}",
            markup=False,
            highlight=False,
        )
    r = result.report
    out.print(
        f"tokens {r['tokens_in']} in / {r['tokens_out']} out · ${r['cost_usd']:.6f} · {r['wall_s']:.2f}s"
    )


def _run_config(args: argparse.Namespace) -> Config:
    """The run's configuration, checked before anything starts (`check_config`)."""
    if args.command != "run":
        config = _config(args)
        check_config(config)
        return config
    config = _config(
        args,
        db=args.db,
        docs=args.docs,
        audit_log=args.audit_log,
        audit_content=args.audit_content or None,
    )
    if args.approve and not config.approve:
        config = replace(config, approve=GATES)
    check_config(config)
    return config


async def _execute(args: argparse.Namespace, config: Config) -> RunResult:
    quiet = (args.json and not sys.stderr.isatty()) or args.log_level in ("debug", "info")
    on_event = None if quiet else _progress  # the log records say the same
    if args.command == "demo":
        db, docs = build_demo_data(config.data_dir)
        _err.print(f"[dim]demo data in {escape(str(config.data_dir / 'demo'))}[/dim]")
        app = Trifecta.from_config(
            load_config(args.config, **{**_overrides(config), "db": db, "docs": str(docs)})
        )
        return await app.arun(DEMO_REQUEST, on_event=on_event)
    if args.command == "resume":
        return await Trifecta.from_config(config).aresume(
            args.thread, resume=args.answer, on_event=on_event
        )
    app = Trifecta.from_config(config)
    request = sys.stdin.read() if args.request == "-" else args.request
    result = await app.arun(
        request, thread_id=args.thread, on_event=on_event, sensitive=args.sensitive
    )
    while args.approve and result.interrupts:
        replies = [_ask(question) for question in result.interrupts]
        result = await app.aresume(result.thread_id, resume=replies, on_event=on_event)
    return result


def _ask(question: Any) -> str:
    """One question of a paused run, answered on the terminal (no answer declines)."""
    text = question.get("question", question) if isinstance(question, dict) else question
    why = question.get("why") if isinstance(question, dict) else None
    _err.print(
        f"[bold]{escape(str(text))}[/bold]" + (f" [dim]({escape(why)})[/dim]" if why else "")
    )
    try:
        return input("approve? [y/N] ")
    except EOFError:
        return "no"


def _overrides(config: Config) -> dict[str, Any]:
    return {
        "model": config.model,
        "base_url": config.base_url,
        "data_dir": config.data_dir,
        "checkpoint": config.checkpoint,
        "budget": config.budget,
        "log_content": config.log_content,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 unverified parts, 2 bad input or
    configuration, 3 a model, database or store failed: `trifecta.errors`)."""
    args = _parser().parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    if args.command in ("check", "ingest", "search"):
        return _tool(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "mcp":
        return _mcp(args)
    if args.command == "audit":
        return run_audit(args)
    if args.command == "eval":
        return run_eval(args)
    if args.command == "inspect":
        return run_inspect(args, lambda: _config(args))
    try:
        config = _run_config(args)
        result = asyncio.run(_execute(args, config))
    except (TrifectaError, OSError) as exc:
        return fail(exc, code=_exit_code(exc))
    _print(result, args.json)
    if result.interrupts and not args.json:
        for question in result.interrupts:
            _err.print(f"paused: {escape(str(question))}", highlight=False)
        _err.print(f"answer with: trifecta resume {result.thread_id} --answer yes|no")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
