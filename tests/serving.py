"""`trifecta serve`'s app on a loopback port, in a thread of the test process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn

from tests.net import free_port
from trifecta.config import Config, ServerSettings, load_config
from trifecta.runner import Trifecta
from trifecta.server import create_app, uvicorn_options


def serve(
    tmp_path: Path,
    overrides: dict[str, object] | None = None,
    build: Callable[[Config, Any], Trifecta] | None = None,
    parser: str = "auto",
    **server: object,
) -> Iterator[str]:
    """Serve with a SQLite checkpoint under `tmp_path` (unless `overrides` names one),
    `overrides` for the config, `build` for the orchestrator, `parser` for uvicorn's
    HTTP parser as the CLI picks it, and `server` for its `ServerSettings`; yields the
    base URL and stops the server after."""
    settings: dict[str, Any] = {"checkpoint": f"sqlite:///{tmp_path / 'cp.sqlite'}"}
    config = load_config(env={}, data_dir=tmp_path, **{**settings, **(overrides or {})})
    config = replace(config, server=ServerSettings(**server))  # type: ignore[arg-type]
    port = free_port()
    runner = uvicorn.Server(
        uvicorn.Config(
            create_app(config, build=build),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            **uvicorn_options(config.server, parser),
        )
    )
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    while not runner.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    runner.should_exit = True
    thread.join(timeout=10)
