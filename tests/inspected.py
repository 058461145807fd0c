"""The run inspector's scenario (`tests.fakes.three_part`) behind a real server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.fakes import INSPECTED, three_part
from tests.serving import serve


@contextmanager
def serve_three_part(
    tmp_path: Path, gate: threading.Event | None = None, **server: Any
) -> Iterator[str]:
    """`trifecta serve` on `three_part` (SQLite checkpoints in `tmp_path`), on a free
    127.0.0.1 port; `server` sets its `ServerSettings`. Yields the URL."""
    yield from serve(tmp_path, build=lambda c, saver: three_part(saver, gate=gate), **server)


def ask(url: str, conversation: str, key: str | None = None) -> dict[str, Any]:
    """Send `INSPECTED` as `conversation` (with `key`); the completion as JSON."""
    headers = {"X-Conversation-Id": conversation}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body = {"model": "trifecta", "messages": [{"role": "user", "content": INSPECTED}]}
    reply = httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())
