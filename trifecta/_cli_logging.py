"""Logging set up by the command line (the library never configures handlers):
``--log-level`` and ``--log-format text|json`` on every command, records on stderr."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Literal

__all__ = ["LEVELS", "add_log_options", "configure_logging"]

LEVELS = ("debug", "info", "warning", "error")
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def add_log_options(parser: argparse.ArgumentParser, default_level: str) -> None:
    """``--log-level`` (for the ``trifecta`` loggers) and ``--log-format``."""
    group = parser.add_argument_group("logging")
    group.add_argument(
        "--log-level",
        choices=LEVELS,
        default=default_level,
        help="trifecta's records at this level and above go to stderr (default: %(default)s); "
        "other libraries log warnings and errors",
    )
    group.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="one line per record, or one JSON object per record with its structured fields",
    )


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to `sys.stderr` as it is when a record comes (not as it was at set-up)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record."""
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str, fmt: Literal["text", "json"]) -> None:
    """Send records to stderr: the ``trifecta`` hierarchy from `level`, other
    libraries' from WARNING; as text lines or JSON objects (python-json-logger: each
    record's ``extra`` fields become keys). Calling it again replaces its handler."""
    handler = _Stderr()
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp=True,
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(_TEXT))
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("trifecta").setLevel(level.upper())
