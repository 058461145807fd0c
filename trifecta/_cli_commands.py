"""What the `trifecta` commands do (`trifecta.cli` parses the arguments first): `run`,
`demo` and `resume` answer a request; `check`, `ingest`, `search`, `serve`, `mcp`,
`audit`, `eval` and `inspect` load their own modules when they run."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from trifecta._preflight import check_aliases, check_config, check_db, check_listen, fail
from trifecta.approval import GATES
from trifecta.config import Config, ConfigError, load_config
from trifecta.demo import DEMO_REQUEST, build_demo_data
from trifecta.errors import RunError, TrifectaError
from trifecta.ledger import Budget
from trifecta.runner import Trifecta

if TYPE_CHECKING:
    from trifecta.graphs.state import Event
    from trifecta.result import RunResult

__all__ = ["command"]

_err = Console(stderr=True)


def command(args: argparse.Namespace) -> Callable[[], int]:
    """The parsed command, ready to run (its modules are loaded now); it returns the exit
    code (0 ok, 1 unverified parts, 2 bad input or configuration, 3 a model, database or
    store failed: `trifecta.errors`)."""
    if args.command in ("check", "ingest", "search"):
        return partial(_tool, args)
    if args.command == "serve":
        return partial(_serve, args)
    if args.command == "mcp":
        return partial(_mcp, args)
    if args.command == "audit":
        from trifecta._cli_audit import run_audit

        return partial(run_audit, args)
    if args.command == "eval":
        from trifecta.evaluation._cli import run_eval

        return partial(run_eval, args)
    if args.command == "inspect":
        from trifecta._cli_inspect import run_inspect

        return partial(run_inspect, args, partial(_config, args))
    return partial(_answer, args)


def _answer(args: argparse.Namespace) -> int:
    """`run`, `demo` and `resume`."""
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
    from trifecta._cli_docs import run_ingest, run_search

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
