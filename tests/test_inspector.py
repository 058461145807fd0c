"""The run inspector: what it reads from a run (attempts, timeline, critical path,
budget, privacy, audit, the query, citations, claims), the page's escaping, and
`trifecta inspect`. The server's routes are in test_inspector_server.py, the page in a
real browser in test_inspector_browser.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any, cast

from tests.fakes import HOSTILE_ID, INSPECTED, three_part
from trifecta import Budget, RunView, Trifecta, audit_view, render_page, snapshot_view
from trifecta.cli import main
from trifecta.config import load_config
from trifecta.demo import DEMO_REQUEST
from trifecta.specialists import default_specialists


async def _view(app: Trifecta, thread: str, **kwargs: Any) -> RunView:
    snapshot = await app.snapshot(thread)
    assert snapshot is not None
    view = snapshot_view(snapshot, thread, running=False, **kwargs)
    assert view["phase"] == "finished"
    return view


async def test_every_attempt_of_an_escalated_subtask_is_shown_in_order() -> None:
    app = three_part()
    await app.arun(INSPECTED, thread_id="v")
    view = await _view(app, "v")
    by = {s["id"]: s for s in view["subtasks"]}
    assert [(s["id"], s["status"], s["answer"]) for s in view["subtasks"]] == [
        ("t1", "verified", "9"),
        ("t2", "checked", "31"),
        ("t3", "verified", "18"),
    ]
    attempts = by["t2"]["attempts"]
    assert [(a["tier"], a["solver"], a["why"], a["verdict"]) for a in attempts] == [
        (0, "sympy", "first", "not applicable"),
        (1, "small", "next", "rejected"),
        (1, "small", "repair", "rejected"),
        (1, "small", "repair", "rejected"),
        (2, "big", "escalated", "checked"),
    ]
    rejected = attempts[1]
    assert rejected["models"] == ["small"] and rejected["tokens_in"] > 0
    assert rejected["cost_usd"] > 0 and rejected["method"] == "sympy"
    assert [e["rule"] for e in rejected["errors"]] == [HOSTILE_ID]
    assert "31 is not 30" in rejected["errors"][0]["message"]
    assert attempts[4]["reason"].startswith("escalated: tier 1 (small) rejected")
    assert sum(a["cost_usd"] for a in attempts) == by["t2"]["cost_usd"]
    assert [(c["expr"], c["answer"], c["status"]) for c in by["t2"]["claims"]] == [
        ("3*12 - 5", "31", "verified")
    ]
    for a, b in pairwise(attempts):  # one after another, inside the subtask's span
        assert a["end_s"] is not None and b["start_s"] is not None
        assert a["start_s"] is not None and a["start_s"] <= a["end_s"] <= b["start_s"] + 1e-6
    assert by["t2"]["start_s"] is not None and by["t2"]["end_s"] is not None
    assert (
        by["t2"]["start_s"] <= attempts[0]["start_s"]
        and attempts[-1]["end_s"] <= by["t2"]["end_s"] + 1e-3
    )  # type: ignore[operator]


async def test_the_timeline_shows_parallel_subtasks_and_what_the_run_waited_for() -> None:
    app = three_part()
    await app.arun(INSPECTED, thread_id="p")
    view = await _view(app, "p")
    one, two, three = view["subtasks"]
    spans = [(s["start_s"], s["end_s"]) for s in (one, two, three)]
    assert all(a is not None and b is not None for a, b in spans)
    (s1, e1), (s2, e2), (s3, _) = cast(list[tuple[float, float]], spans)
    assert s1 < e2 and s2 < e1  # t1 and t2 overlap
    assert s3 >= max(e1, e2)  # t3 starts once its step is over (LangGraph's superstep)
    # t3 depends on t1 only, but waited for t2, which ended last in that step
    assert view["critical_path"] == ["t2", "t3"]
    assert [s["critical"] for s in view["subtasks"]] == [False, True, True]
    assert [s["node"] for s in view["spans"]] == ["plan"]  # the planner's model call


async def test_budget_privacy_and_the_audit_chain_are_reported(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    config = load_config(env={}, data_dir=tmp_path, checkpoint="memory", audit_log=str(log))
    app = Trifecta.from_config(config)
    await app.arun("What is 2+2? Mail it to ada@example.com", thread_id="s")
    view = await _view(
        app, "s", budget=Budget(max_tokens=500, max_wall_s=30.0), audit=audit_view(config)
    )
    assert view["sensitive"] == ["an e-mail address in the conversation"]
    limits = {(b["scope"], b["what"]): (b["used"], b["limit"]) for b in view["budget"]}
    assert limits[("run", "tokens")] == (0, 500) and limits[("thread", "cost_usd")] == (0.0, None)
    assert view["audit"] is not None and view["audit"]["ok"], view["audit"]
    page = render_page(view)
    assert "Privacy: sensitive (an e-mail address in the conversation)" in page
    assert "0 of 500 (0%)" in page and "intact" in page

    lines = log.read_text().splitlines()
    lines[1] = lines[1].replace('"kind": "plan"', '"kind": "plam"')  # an edited record
    log.write_text("\n".join(lines) + "\n")
    broken = audit_view(config)
    assert broken is not None and not broken["ok"] and broken["problems"]
    assert "problem(s)" in render_page({**view, "audit": broken})


async def test_the_query_its_rows_and_the_quoted_citation_are_kept(
    tmp_path: Path, demo_data: tuple[str, Path]
) -> None:
    db, docs = demo_data
    app = Trifecta(default_specialists(db=db, docs=str(docs), data_dir=tmp_path))
    await app.arun(DEMO_REQUEST, thread_id="d")
    view = await _view(app, "d")
    math, sql, rag = view["subtasks"]
    assert sql["sql"] is not None and sql["sql"]["sql"].upper().startswith("SELECT")
    assert sql["sql"]["rows"] == [["4"]] and sql["sql"]["row_count"] == 1
    assert [c["quote"] for c in rag["citations"]] == [
        "The refund window is 30 days from the date of delivery."
    ]
    assert rag["sources"] and rag["sources"][0].endswith("returns.md")
    assert math["claims"] and math["claims"][0]["status"] == "verified"
    page = render_page(view)
    assert "SQL as executed" in page and "The refund window is 30 days" in page


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of script and style elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.inline: dict[str, list[str]] = {"script": [], "style": []}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._open = tag if tag in self.inline else None

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.inline[self._open].append(data)


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


async def test_user_and_model_text_is_escaped_and_the_policy_runs_only_our_script() -> None:
    app = three_part()
    await app.arun(INSPECTED, thread_id='<x id="t">')
    page = render_page(await _view(app, '<x id="t">'))
    parsed = _Tags()
    parsed.feed(page)
    assert [t for t, _ in parsed.tags].count("script") == 1
    assert "img" not in [t for t, _ in parsed.tags] and "x" not in [t for t, _ in parsed.tags]
    assert not [(t, a) for t, attrs in parsed.tags for a, _ in attrs if a.startswith("on")]
    assert "window.xss=2" in page and "<script>window.xss" not in page
    assert "&lt;b onclick=alert(1)&gt;s1&lt;/b&gt;" in page  # a model's claim id
    (policy,) = [
        dict(attrs)["content"]
        for tag, attrs in parsed.tags
        if tag == "meta" and dict(attrs).get("http-equiv") == "Content-Security-Policy"
    ]
    assert policy is not None
    assert f"'sha256-{_digest(''.join(parsed.inline['script']))}'" in policy
    assert f"'sha256-{_digest(''.join(parsed.inline['style']))}'" in policy
    assert "connect-src 'none'" in policy and "default-src 'none'" in policy


def _cli(*args: str) -> int:
    return main(list(args))


def test_inspect_writes_one_self_contained_file(tmp_path: Path, capsys: Any) -> None:
    store = f"sqlite:///{tmp_path / 'cp.sqlite'}"
    common = ["--checkpoint", store, "--data-dir", str(tmp_path)]
    assert _cli("run", "What is 2+2? Integrate x^2 from 0 to 3.", "--thread", "c1", *common) == 0
    out = tmp_path / "page.html"
    assert _cli("inspect", "c1", "-o", str(out), *common) == 0
    page = out.read_text()
    assert page.count('class="node status-verified') == 2
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing to fetch
    capsys.readouterr()
    assert _cli("inspect", "c1", "--json", *common) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["thread_id"] == "c1" and data["counts"] == {"verified": 2}
    assert _cli("inspect", "nope", *common) == 2
    assert "no run with thread id 'nope'" in capsys.readouterr().err
    missing = tmp_path / "none.sqlite"
    assert _cli("inspect", "c1", "--checkpoint", f"sqlite:///{missing}") == 2
    assert not missing.exists()  # nothing is created


def test_a_thread_in_progress_reads_as_such() -> None:
    async def scenario() -> RunView:
        import threading

        gate = threading.Event()
        app = three_part(gate=gate)
        task = asyncio.ensure_future(app.arun(INSPECTED, thread_id="r"))
        try:
            for _ in range(200):
                snapshot = await app.snapshot("r")
                if snapshot and "t1" in snapshot.values.get("results", {}):
                    return snapshot_view(snapshot, "r", running=True)
                await asyncio.sleep(0.02)
            raise AssertionError("t1 never finished")
        finally:
            gate.set()
            await task

    view = asyncio.run(scenario())
    statuses = {s["id"]: s["status"] for s in view["subtasks"]}
    assert statuses == {"t1": "verified", "t2": "running", "t3": "waiting"}
    assert view["answer"] == "" and view["counts"] == {"verified": 1, "running": 1, "waiting": 1}
