"""`trifecta inspect THREAD_ID`: one run as a self-contained HTML file (or its data as
JSON), read from the checkpoint store."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from trifecta._inspect_page import render_page
from trifecta._inspect_view import RunView, audit_view, snapshot_view
from trifecta._preflight import check_checkpoint, fail
from trifecta.checkpoint import redact_url
from trifecta.config import Config, ConfigError
from trifecta.errors import RunError, TrifectaError
from trifecta.runner import Trifecta

__all__ = ["run_inspect"]


async def _view(config: Config, thread: str) -> RunView | None:
    snapshot = await Trifecta.from_config(config).snapshot(thread)
    if snapshot is None:
        return None
    return snapshot_view(
        snapshot, thread, running=False, budget=config.budget,
        thread_budget=config.thread_budget, audit=await asyncio.to_thread(audit_view, config),
    )  # fmt: skip


def _default_output(thread: str) -> Path:
    return Path(f"run-{re.sub(r'[^A-Za-z0-9._-]', '_', thread)[:120]}.html")


def run_inspect(args: argparse.Namespace, config_of: Callable[[], Config]) -> int:
    """Write the page (or print the JSON); exit 0, or 2 when the thread or the store is
    not there, 3 when the store failed."""
    try:
        config = config_of()
        check_checkpoint(config)
        url = config.checkpoint_url
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
            return fail(f"no checkpoint store at {url.removeprefix('sqlite:///')}")
        view = asyncio.run(_view(config, args.thread))
    except ConfigError as exc:
        return fail(exc)
    except (TrifectaError, OSError) as exc:
        return fail(exc, code=3 if isinstance(exc, RunError) else 2)
    if view is None:
        return fail(f"no run with thread id {args.thread!r} in {redact_url(config.checkpoint_url)}")
    if args.json:
        print(json.dumps(view, indent=2))
        return 0
    output = args.output or _default_output(args.thread)
    try:
        output.write_text(render_page(view), encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot write {output}: {exc.strerror or exc}")
    print(f"wrote {output}", file=sys.stderr)
    return 0
