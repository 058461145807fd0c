"""The `trifecta` command line."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from trifecta._cli_logging import configure_logging
from trifecta._cli_parser import build_parser

__all__ = ["main"]


@contextmanager
def _starting() -> Iterator[None]:
    """Start a command with the cyclic garbage collector paused, then freeze what starting
    made. Starting (the modules a command loads) makes long-lived objects, and a full
    collection walks every one of them: left on, the collector spends a few tenths of a
    second of a one-request run walking modules that stay loaded. Frozen objects are left
    out of later collections, which still run (and collect what the command frees), and a
    collection in a forked SymPy worker does not copy them (see `gc.freeze`)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_on:
            gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 unverified parts, 2 bad input or
    configuration, 3 a model, database or store failed: `trifecta.errors`)."""
    with _starting():
        args = build_parser().parse_args(argv)
        configure_logging(args.log_level, args.log_format)
        from trifecta._cli_commands import command

        run = command(args)
    return run()


if __name__ == "__main__":
    raise SystemExit(main())
