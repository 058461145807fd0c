"""`trifecta serve` over real HTTP, driven by the official openai client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import SHOP_SQL
from tests.net import PG_URL, free_port, wait_until_up
from tests.serving import serve as _serve

SLOW = "integrate exp(x**2)*sin(x**3)/(1+x**7) from 2 to 3"  # SymPy gives up after its 2 s timeout


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    yield from _serve(tmp_path)


def client(url: str, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


def test_plain_completion_carries_the_report(server: str) -> None:
    reply = client(server).chat.completions.create(
        model="trifecta",
        messages=[{"role": "user", "content": "What is 15% of 80? Integrate x^2 from 0 to 3."}],
    )
    assert (
        reply.choices[0].message.content
        == "What is 15% of 80? → 12 [t1: verified]\nIntegrate x^2 from 0 to 3. → 9 [t2: verified]"
    )
    report = (reply.model_extra or {})["trifecta"]
    assert [s["status"] for s in report["subtasks"]] == ["verified", "verified"] and report[
        "replayed"
    ] is False
    assert [m.id for m in client(server).models.list().data] == ["trifecta"]


def test_streaming_sends_progress_then_the_same_answer(server: str) -> None:
    messages = [{"role": "user", "content": "What is 2^10 + 3? What is 3/4 + 1/6?"}]
    stream = client(server).chat.completions.create(
        model="trifecta", messages=messages, stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    events = [(c.model_extra or {}).get("trifecta", {}).get("event") for c in chunks]
    assert (
        text == "What is 2^10 + 3? → 1027 [t1: verified]\nWhat is 3/4 + 1/6? → 11/12 [t2: verified]"
    )
    assert events.index("planned") < events.index("subtask") < events.index("merged")
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_a_conversation_is_one_thread_and_a_repeated_turn_replays(server: str) -> None:
    api, conversation = client(server), f"conv-{uuid.uuid4().hex[:8]}"
    first = [{"role": "user", "content": "What is 6*7?"}]
    one = api.chat.completions.create(model="trifecta", messages=first, user=conversation)
    second = [
        *first,
        {"role": "assistant", "content": one.choices[0].message.content},
        {"role": "user", "content": "What is 6*8?"},
    ]
    two = api.chat.completions.create(model="trifecta", messages=second, user=conversation)
    again = api.chat.completions.create(model="trifecta", messages=first, user=conversation)
    meta = [(r.model_extra or {})["trifecta"] for r in (one, two, again)]
    assert [(m["thread_id"], m["turn"]) for m in meta] == [
        (conversation, 1),
        (conversation, 2),
        (conversation, 1),
    ]
    assert [m["replayed"] for m in meta] == [False, False, True]
    assert (
        "→ 48" in (two.choices[0].message.content or "")
        and again.choices[0].message.content == one.choices[0].message.content
    )


def test_api_keys_are_enforced(tmp_path: Path) -> None:
    for url in _serve(tmp_path, api_keys=("s3cret",)):
        with pytest.raises(openai.AuthenticationError) as info:
            client(url, "wrong").chat.completions.create(
                model="trifecta", messages=[{"role": "user", "content": "What is 1+1?"}]
            )
        assert info.value.status_code == 401 and "API key" in str(info.value)
        ok = client(url, "s3cret").chat.completions.create(
            model="trifecta", messages=[{"role": "user", "content": "What is 1+1?"}]
        )
        assert "→ 2" in (ok.choices[0].message.content or "")


def test_bad_requests_get_openai_style_errors(tmp_path: Path) -> None:
    for url in _serve(tmp_path, max_body_bytes=2000, max_messages=3):
        api = client(url)
        with pytest.raises(openai.APIStatusError) as big:
            api.chat.completions.create(
                model="trifecta", messages=[{"role": "user", "content": "x" * 5000}]
            )
        assert big.value.status_code == 413 and "limit is 2,000" in str(big.value)
        with pytest.raises(openai.BadRequestError, match="the limit is 3"):
            api.chat.completions.create(
                model="trifecta", messages=[{"role": "user", "content": "1+1"}] * 4
            )
        with pytest.raises(openai.NotFoundError, match="does not exist"):
            api.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "1+1"}]
            )
        with pytest.raises(openai.BadRequestError, match="request is empty"):
            api.chat.completions.create(
                model="trifecta", messages=[{"role": "user", "content": "  "}]
            )
        raw = httpx.post(
            f"{url}/v1/chat/completions",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        assert raw.status_code == 400 and raw.json()["error"]["code"] == "invalid_json"


def test_client_disconnect_cancels_the_run(server: str) -> None:
    body = {"model": "trifecta", "stream": True, "messages": [{"role": "user", "content": SLOW}]}
    with httpx.stream("POST", f"{server}/v1/chat/completions", json=body, timeout=30) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")  # the role chunk; the run is under way
    for _ in range(100):
        health = httpx.get(f"{server}/healthz").json()
        if health["cancelled_runs"]:
            break
        time.sleep(0.05)
    assert (health["cancelled_runs"], health["active_runs"], health["completed_runs"]) == (1, 0, 0)


async def test_fifty_concurrent_requests_none_lost_or_mixed(server: str) -> None:
    api = openai.AsyncOpenAI(base_url=f"{server}/v1", api_key="none", max_retries=0, timeout=120)

    async def ask(i: int) -> tuple[int, str]:
        reply = await api.chat.completions.create(
            model="trifecta",
            messages=[{"role": "user", "content": f"What is {i} * 1000 + 7?"}],
            user=f"c{i}",
        )
        return i, reply.choices[0].message.content or ""

    answers = await asyncio.gather(*(ask(i) for i in range(50)))
    assert all(f"→ {i * 1000 + 7} [t1: verified]" in text for i, text in answers)
    assert len({text for _, text in answers}) == 50


def test_two_server_processes_share_conversations_through_postgres(tmp_path: Path) -> None:
    urls, processes = [], []
    env = {**os.environ, "TRIFECTA_DATA_DIR": str(tmp_path)}
    for _ in range(2):
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "trifecta.cli",
            "serve",
            "--port",
            str(port),
            "--checkpoint",
            PG_URL,
        ]
        processes.append(
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            wait_until_up(f"{url}/healthz")
        conversation = f"shared-{uuid.uuid4().hex[:8]}"
        first = [{"role": "user", "content": "What is 12.5% of 64?"}]
        on_a = client(urls[0]).chat.completions.create(
            model="trifecta", messages=first, user=conversation
        )
        on_b = client(urls[1]).chat.completions.create(
            model="trifecta", messages=first, user=conversation
        )
        later = [
            *first,
            {"role": "assistant", "content": on_a.choices[0].message.content},
            {"role": "user", "content": "What is 2^5?"},
        ]
        next_b = client(urls[1]).chat.completions.create(
            model="trifecta", messages=later, user=conversation
        )
        meta = [(r.model_extra or {})["trifecta"] for r in (on_a, on_b, next_b)]
        assert [m["replayed"] for m in meta] == [False, True, False]
        assert on_b.choices[0].message.content == on_a.choices[0].message.content
        assert (meta[2]["thread_id"], meta[2]["turn"]) == (conversation, 2) and "→ 32" in (
            next_b.choices[0].message.content or ""
        )
        assert json.loads(urllib.request.urlopen(f"{urls[1]}/healthz").read())["replayed_runs"] == 1
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def test_a_run_past_its_deadline_is_cut(tmp_path: Path) -> None:
    for url in _serve(tmp_path, deadline_s=0.2):
        # a first request loads the math grammar's parse tables (built once per cache)
        warm = {"model": "trifecta", "messages": [{"role": "user", "content": "What is 2+2?"}]}
        assert httpx.post(f"{url}/v1/chat/completions", json=warm, timeout=30).status_code == 200
        response = httpx.post(
            f"{url}/v1/chat/completions",
            json={
                "model": "trifecta",
                "messages": [{"role": "user", "content": f"{SLOW}. {SLOW} again"}],
            },
            timeout=30,
        )
        assert (
            response.status_code == 504 and response.json()["error"]["code"] == "deadline_exceeded"
        )
        assert httpx.get(f"{url}/healthz").json()["active_runs"] == 0


def _talk(url: str, conversation: str, lines: tuple[str, ...]) -> tuple[list[Any], list[Any]]:
    """Send `lines` as the user's turns of one conversation; the completions and the
    whole message list (the assistant's replies included)."""
    api = client(url)
    messages: list[dict[str, str]] = []
    replies = []
    for said in lines:
        messages.append({"role": "user", "content": said})
        reply = api.chat.completions.create(
            model="trifecta",
            messages=messages,  # type: ignore[arg-type]
            user=conversation,
        )
        messages.append({"role": "assistant", "content": reply.choices[0].message.content or ""})
        replies.append(reply)
    return replies, messages


def test_a_three_turn_conversation_refers_back_to_verified_answers(server: str) -> None:
    """Offline: turns 2 and 3 compute on the previous turn's verified number."""
    conversation = f"talk-{uuid.uuid4().hex[:8]}"
    said = ("What is 6*7?", "and what is that times 3?", "Divide it by 4.")
    completions, messages = _talk(server, conversation, said)
    replies = [(r.model_extra or {})["trifecta"] for r in completions]
    assert [[s["answer"] for s in r["subtasks"]] for r in replies] == [["42"], ["126"], ["63/2"]]
    assert [s["status"] for r in replies for s in r["subtasks"]] == ["verified"] * 3
    assert [(r["thread_id"], r["turn"]) for r in replies] == [(conversation, n) for n in (1, 2, 3)]
    skipped = httpx.post(
        f"{server}/v1/chat/completions",
        json={"messages": [*messages, {"role": "user", "content": "a"}] * 2, "user": conversation},
    )
    assert skipped.status_code == 409 and skipped.json()["error"]["code"] == "turn_conflict"


def test_a_new_thread_hears_the_conversation_it_is_handed(server: str) -> None:
    """The client's earlier turns (no thread yet) reach the planner as history; with no
    verified result among them, an offline back-reference stays unresolved."""
    earlier = [
        {"role": "user", "content": "What is 6*7?"},
        {"role": "assistant", "content": "What is 6*7? → 42 [t1: verified]"},
        {"role": "user", "content": "What is 2+2?"},
    ]
    reply = client(
        server
    ).chat.completions.create(
        model="trifecta",
        messages=earlier,  # type: ignore[arg-type]
        user=f"handed-{uuid.uuid4().hex[:8]}",
    )
    meta = (reply.model_extra or {})["trifecta"]
    assert meta["turn"] == 2 and [s["answer"] for s in meta["subtasks"]] == ["4"]


def test_an_approval_is_asked_in_the_chat_and_the_next_message_answers(tmp_path: Path) -> None:
    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(SHOP_SQL)
    overrides: dict[str, object] = {"db": f"sqlite:///{db}", "approve": ("sql",)}
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(contextlib.contextmanager(_serve)(tmp_path, overrides))
        api, conversation = client(url), f"ok-{uuid.uuid4().hex[:8]}"
        messages: list[dict[str, str]] = []
        replies = []
        for said in ("How many customers are there?", "yes", "What is 6*7?"):
            messages.append({"role": "user", "content": said})
            reply = api.chat.completions.create(
                model="trifecta",
                messages=messages,  # type: ignore[arg-type]
                user=conversation,
            )
            messages.append(
                {"role": "assistant", "content": reply.choices[0].message.content or ""}
            )
            replies.append(reply)
    asked, answered, later = replies
    question = asked.choices[0].message
    assert question.tool_calls is None and asked.choices[0].finish_reason == "stop"
    assert "Run this query on the sqlite database?" in (question.content or "")
    assert "Reply yes to approve" in (question.content or "")
    meta = [(r.model_extra or {})["trifecta"] for r in replies]
    assert meta[0]["pending"] and meta[0]["interrupts"][0]["gate"] == "sql"
    assert [s["answer"] for s in meta[1]["subtasks"]] == ["3"] and not meta[1]["pending"]
    assert "→ 3" in (answered.choices[0].message.content or "")
    assert [m["turn"] for m in meta] == [1, 2, 3] and "→ 42" in (
        later.choices[0].message.content or ""
    )
