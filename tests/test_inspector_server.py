"""The run inspector's routes on a real `trifecta serve` app over HTTP: API keys (Bearer
and HTTP Basic), per-key listing, JSON, live updates over SSE; and the thread listing
on memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import three_part
from tests.inspected import ask, serve_three_part
from tests.net import PG_URL
from trifecta import Trifecta
from trifecta.checkpoint import open_checkpointer, recent_threads


def test_keys_guard_the_runs_and_each_key_sees_only_its_own(tmp_path: Path) -> None:
    with serve_three_part(tmp_path, api_keys=("k1", "k2")) as url:
        ask(url, '<i>mine</i> "q"', "k1")
        bare = httpx.get(f"{url}/runs")
        assert bare.status_code == 401 and bare.headers["www-authenticate"].startswith("Basic")
        assert httpx.get(f"{url}/runs/x.json", auth=("any", "wrong")).status_code == 401
        mine = httpx.get(f"{url}/runs", headers={"Authorization": "Bearer k1"})
        assert mine.status_code == 200
        assert 'href="/runs/%3Ci%3Emine%3C%2Fi%3E%20%22q%22"' in mine.text
        assert "&lt;i&gt;mine&lt;/i&gt; &quot;q&quot;" in mine.text and "<i>mine" not in mine.text
        theirs = httpx.get(f"{url}/runs", headers={"Authorization": "Bearer k2"})
        assert theirs.status_code == 200 and "mine" not in theirs.text
        data = httpx.get(f"{url}/runs/%3Ci%3Emine%3C%2Fi%3E%20%22q%22.json", auth=("me", "k1"))
        assert data.status_code == 200 and data.headers["content-type"] == "application/json"
        view = data.json()
        assert [s["status"] for s in view["subtasks"]] == ["verified", "checked", "verified"]
        assert view["phase"] == "finished" and view["thread_id"] == '<i>mine</i> "q"'
        assert len(view["subtasks"][1]["attempts"]) == 5
        other = httpx.get(f"{url}/runs/%3Ci%3Emine%3C%2Fi%3E%20%22q%22", auth=("me", "k2"))
        assert other.status_code == 404  # k2 has no conversation of that name
        page = httpx.get(f"{url}/runs/%3Ci%3Emine%3C%2Fi%3E%20%22q%22", auth=("me", "k1"))
        assert page.status_code == 200 and 'data-phase="finished"' in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"


def _events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    kind = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield kind, json.loads(line.removeprefix("data: "))


def test_a_page_follows_a_run_live_until_it_ends(tmp_path: Path) -> None:
    gate = threading.Event()
    with serve_three_part(tmp_path, gate=gate) as url:
        asked = threading.Thread(target=ask, args=(url, "live"), daemon=True)
        asked.start()
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                for _ in range(300):  # until the run exists and t1 (SymPy) finished
                    view = client.get("/runs/live.json")
                    rows = view.json()["subtasks"] if view.status_code == 200 else []
                    if rows and rows[0]["status"] == "verified":
                        break
                    time.sleep(0.02)
                page = client.get("/runs/live")
                assert 'data-live="1"' in page.text and "connect-src 'self'" in page.text
                seen: list[tuple[str, dict[str, Any]]] = []
                headers = {"Accept": "text/event-stream"}
                with client.stream("GET", "/runs/live", headers=headers) as stream:
                    assert stream.headers["content-type"].startswith("text/event-stream")
                    for kind, data in _events(stream):
                        seen.append((kind, data))
                        if len(seen) == 1:
                            gate.set()  # t2's models answer now
                        if kind == "end":
                            break
        finally:
            gate.set()
            asked.join(timeout=30)
    first, last = seen[0][1], seen[-2][1]
    assert seen[0][0] == "run" and first["phase"] == "running"
    assert re.search(r'<g class="node status-running[^"]*" data-subtask="t2"', first["html"])
    assert re.search(r'<g class="node status-waiting[^"]*" data-subtask="t3"', first["html"])
    assert seen[-1] == ("end", {}) and seen[-2][0] == "run" and last["phase"] == "finished"
    assert 'data-subtask="t2"' in last["html"] and "status-running" not in last["html"]
    assert '<g class="node status-checked critical" data-subtask="t2"' in last["html"]


async def _threads_in(saver: Any, prefix: str) -> list[str]:
    app = Trifecta(three_part().specialists, checkpoint=saver)
    for name in ("a", "b", "c"):
        await app.arun("What is 2+2?", thread_id=f"{prefix}{name}")
    await app.arun("What is 3+3?", thread_id=f"{prefix}a")  # a second turn: a is newest
    await app.arun("What is 2+2?", thread_id=f"other-{prefix}")
    return await recent_threads(saver, prefix, 10)


@pytest.mark.parametrize("store", ["memory", "sqlite", "postgres"])
async def test_recent_threads_are_listed_newest_first_by_prefix(tmp_path: Path, store: str) -> None:
    url = {"memory": "memory", "sqlite": f"sqlite:///{tmp_path / 'cp.db'}", "postgres": PG_URL}
    prefix = f"key-{uuid.uuid4().hex[:8]}/"
    async with open_checkpointer(url[store]) as saver:
        found = await _threads_in(saver, prefix)
        assert found == [f"{prefix}a", f"{prefix}c", f"{prefix}b"]
        assert await recent_threads(saver, prefix, 1) == [f"{prefix}a"]
