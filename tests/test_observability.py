"""Logs and OpenTelemetry spans of real runs: the span tree and its GenAI attributes
(in-memory exporter), spans of parallel subtasks under their own parents, a real
OTLP/HTTP round trip (in process, from the config, from the environment through the
command line), one log record per step without content by default, and `trifecta
serve`'s startup and access lines over real HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.fakes import APPLES, merger_text, plan
from tests.net import free_port, wait_until_up
from tests.otlp import otlp_receiver
from trifecta import Trifecta
from trifecta.agents import ModelMerger, ModelPlanner
from trifecta.config import ConfigError, load_config
from trifecta.demo import build_demo_data
from trifecta.models import Message, OutputSchema, Price
from trifecta.specialists import Candidate, ModelSolver, Specialist, default_specialists
from trifecta.specialists.math import math_specialist
from trifecta.specialists.rag import rag_specialist
from trifecta.specialists.sql import sql_specialist
from trifecta.telemetry import reset_tracing, setup_tracing
from trifecta.testing import CallInfo, FunctionModel, Reply
from trifecta.verdict import Verdict

ORDERS = "How many orders are over 100 dollars?"
REFUND = "What is the refund window in the returns policy?"
REQUEST = f"{APPLES} {ORDERS} {REFUND}"
CLI = [sys.executable, "-m", "trifecta.cli"]
_ANSWER = OutputSchema("answer", {"type": "object", "properties": {"answer": {"type": "string"}}})


def _claims(answer: str) -> dict[str, Any]:
    claims = [{"id": "s1", "kind": "value", "expr": "3*12 - 5", "answer": answer}]
    return {"answer": answer, "claims": claims}


def _big(messages: list[Message], info: CallInfo) -> Reply:
    if info.schema_name == "plan":
        return plan(("t1", "math", APPLES), ("t2", "sql", ORDERS), ("t3", "rag", REFUND))
    if info.schema_name == "math_answer":
        return _claims("31")
    return merger_text(messages, info)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    """The demo database and documents, and where their store lives (ingested once)."""
    root = tmp_path_factory.mktemp("shop")
    db, docs = build_demo_data(root)
    rag_specialist(docs, store_root=root / "stores")
    return db, docs, root / "stores"


def _app(shop: tuple[str, Path, Path], *, log_content: bool = False) -> Trifecta:
    """Three specialists; math's small model is always wrong (3*12 - 5 = 30), so its
    subtask is rejected three times and escalated to the big model, which is right."""
    db, docs, stores = shop
    small = FunctionModel(
        lambda m, i: _claims("30"), name="small", price=Price(1.0, 2.0), latency=0.02
    )
    big = FunctionModel(_big, name="big", price=Price(10.0, 30.0), latency=0.02)
    specialists = [
        math_specialist([small, big]),
        sql_specialist(db),
        rag_specialist(docs, store_root=stores),
    ]
    return Trifecta(
        specialists,
        planner=ModelPlanner(big),
        merger=ModelMerger(big),
        log_content=log_content,
    )


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Runs traced into memory for the test."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    setup_tracing(provider)
    yield memory
    reset_tracing()


def _parent(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> ReadableSpan | None:
    return by_id.get(span.parent.span_id) if span.parent else None


def _agent_of(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> ReadableSpan | None:
    """The nearest ``invoke_agent`` ancestor."""
    parent = _parent(span, by_id)
    while parent is not None and not parent.name.startswith("invoke_agent"):
        parent = _parent(parent, by_id)
    return parent


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_span_tree_of_a_three_part_run_with_one_escalation(
    shop: tuple[str, Path, Path], exporter: InMemorySpanExporter
) -> None:
    result = await _app(shop).arun(REQUEST)
    assert [s["status"] for s in result.subtasks] == ["checked", "checked", "verified"]
    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    roots = [s for s in spans if s.parent is None]
    assert [r.name for r in roots] == ["invoke_workflow trifecta"]
    root = roots[0]
    assert {s.context.trace_id for s in spans} == {root.context.trace_id}
    assert _attrs(root) | {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": "trifecta",
        "gen_ai.conversation.id": result.thread_id,
        "trifecta.ok": True,
        "trifecta.subtasks": 3,
        "trifecta.subtasks.checked": 2,
        "trifecta.subtasks.verified": 1,
        "gen_ai.usage.input_tokens": result.report["tokens_in"],
        "gen_ai.usage.output_tokens": result.report["tokens_out"],
        "trifecta.cost_usd": result.report["cost_usd"],
    } == _attrs(root)

    agents = {
        _attrs(s)["trifecta.subtask.id"]: s for s in spans if s.name.startswith("invoke_agent")
    }
    assert {i: a.name for i, a in agents.items()} == {
        "t1": "invoke_agent math",
        "t2": "invoke_agent sql",
        "t3": "invoke_agent rag",
    }
    assert all(_parent(a, by_id) is root for a in agents.values())
    math = _attrs(agents["t1"])
    t1_cost = sum(e["cost_usd"] for e in result.ledger if e["subtask"] == "t1")
    assert (
        math
        | {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "math",
            "trifecta.verdict": "checked",
            "trifecta.tier": 2,
            "trifecta.solver": "big",
            "trifecta.attempts": 5,  # sympy (not applicable), small x3, big
            "trifecta.escalations": 2,
            "trifecta.escalation.reason": "rejected",
        }
        == math
    )
    assert math["trifecta.cost_usd"] == pytest.approx(t1_cost) and t1_cost > 0
    events = [dict(e.attributes or {}) for e in agents["t1"].events]
    assert [(e["trifecta.solver"], e["trifecta.escalation.reason"]) for e in events] == [
        ("small", "not applicable"),
        ("big", "rejected"),
    ]
    assert all("trifecta.escalation.detail" not in e for e in events)  # content is off
    assert _attrs(agents["t2"])["trifecta.verdict"] == "checked"
    assert _attrs(agents["t3"])["trifecta.verdict"] == "verified"

    chats = [s for s in spans if s.name.startswith("chat ")]
    under = {(s.name, _parent(s, by_id).name) for s in chats}  # type: ignore[union-attr]
    assert under == {
        ("chat big", "invoke_workflow trifecta"),  # plan, merge
        ("chat small", "invoke_agent math"),
        ("chat big", "invoke_agent math"),
    }
    assert [s.name for s in chats if _parent(s, by_id) is agents["t1"]] == [
        *["chat small"] * 3,
        "chat big",
    ]
    model_calls = [e for e in result.ledger if e["kind"] == "model"]
    assert len(chats) == len(model_calls)
    for span in chats:
        attributes = _attrs(span)
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.provider.name"] == "trifecta.testing"
        assert attributes["gen_ai.request.model"] == attributes["gen_ai.response.model"]
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["gen_ai.usage.output_tokens"] > 0
        assert attributes["trifecta.cost_usd"] > 0

    tools = [(s.name, _agent_of(s, by_id)) for s in spans if s.name.startswith("execute_tool")]
    assert sorted((n, a.name) for n, a in tools if a) == [
        *[("execute_tool sql", "invoke_agent sql")],
        *[("execute_tool sympy", "invoke_agent math")] * 4,
    ]
    sql = next(s for s in spans if s.name == "execute_tool sql")
    assert _attrs(sql) | {
        "gen_ai.tool.name": "sql",
        "db.system.name": "sqlite",
        "trifecta.verdict": "checked",
        "trifecta.rows": 1,
    } == _attrs(sql)
    sympy = [_attrs(s)["trifecta.verdict"] for s in spans if s.name == "execute_tool sympy"]
    assert sympy == ["rejected"] * 3 + ["checked"]
    retrievals = [s for s in spans if s.name.startswith("retrieval")]
    assert {_attrs(s)["trifecta.retrieval.backend"] for s in retrievals} == {"chroma", "bm25"}
    assert all(_agent_of(s, by_id) is agents["t3"] for s in retrievals)
    assert all(_attrs(s)["gen_ai.operation.name"] == "retrieval" for s in retrievals)


async def test_parallel_subtasks_keep_their_own_spans(exporter: InMemorySpanExporter) -> None:
    """Six subtasks run at once, each calling a model after a different delay: every
    model call's span sits under its own subtask's span, and the subtasks overlap."""

    def reply(messages: list[Message], info: CallInfo) -> Reply:
        return {"answer": messages[-1].content.upper()}

    async def slow(messages: list[Message], info: CallInfo) -> Reply:
        await asyncio.sleep(0.01 * (6 - int(messages[-1].content[-1])))
        return reply(messages, info)

    schema = ModelSolver(
        FunctionModel(slow, name="echo"), "echo", _ANSWER, lambda d: Candidate(d["answer"])
    )
    echo = Specialist(
        "echo", "echoes", [schema], lambda j, c: Verdict("verified", "ok"), affinity=lambda c: 1
    )
    planner = FunctionModel(
        lambda m, i: plan(*((f"t{n}", "echo", f"item {n}") for n in range(1, 7))), name="planner"
    )
    result = await Trifecta([echo], planner=ModelPlanner(planner)).arun("Echo six items.")
    assert result.ok
    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    agents = [s for s in spans if s.name == "invoke_agent echo"]
    assert len(agents) == 6
    for span in spans:
        if span.name == "chat echo":
            agent = _agent_of(span, by_id)
            assert agent is not None
            assert _attrs(agent)["trifecta.subtask.id"] == _attrs(span)["trifecta.subtask.id"]
    assert max(a.start_time or 0 for a in agents) < min(a.end_time or 0 for a in agents)


def _records(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == event]


def _text_of(record: logging.LogRecord) -> str:
    """Everything a handler could write of a record: its message and every field."""
    return json.dumps({**vars(record), "args": None, "message": record.getMessage()}, default=str)


async def test_one_record_per_step_without_content_by_default(
    shop: tuple[str, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="trifecta")
    result = await _app(shop).arun(REQUEST)
    assert result.ok
    ledger = result.ledger
    assert len(_records(caplog, "attempt")) == sum(s["attempts"] for s in result.subtasks) == 7
    verdicts = _records(caplog, "verdict")
    assert sorted((r.subtask, r.status) for r in verdicts) == sorted(  # type: ignore[attr-defined]
        (e["subtask"], e["verdict"]) for e in ledger if e["kind"] == "check"
    )
    escalations = _records(caplog, "escalation")
    assert [(r.subtask, r.from_outcome, r.solver) for r in escalations] == [  # type: ignore[attr-defined]
        ("t1", "not applicable", "small"),
        ("t1", "rejected", "big"),
    ]
    calls = _records(caplog, "model_call")
    assert len(calls) == len([e for e in ledger if e["kind"] == "model"]) == 6
    for record in calls:
        fields = vars(record)
        assert fields["tokens_in"] > 0 and fields["cost_usd"] > 0 and fields["latency_ms"] > 0
        assert fields["model"] in ("small", "big") and record.name == "trifecta.model"
    assert len(_records(caplog, "plan")) == len(_records(caplog, "merge")) == 1
    assert {r.name for r in _records(caplog, "subtask")} == {
        "trifecta.specialist.math",
        "trifecta.specialist.sql",
        "trifecta.specialist.rag",
    }
    mine = [r for r in caplog.records if r.name.startswith("trifecta")]
    assert all(getattr(r, "thread_id", None) == result.thread_id for r in mine)
    for text in map(_text_of, mine):
        for secret in (
            "boxes of 12 apples",  # the request and the instructions
            "refund window",
            "over 100 dollars",
            "3*12 - 5",  # the models' replies
            "date of delivery",  # an answer
            "SELECT",  # the query, in the evidence
        ):
            assert secret not in text


async def test_content_logging_carries_prompts_but_never_a_sensitive_runs(
    shop: tuple[str, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="trifecta")
    app = _app(shop, log_content=True)
    await app.arun(REQUEST)
    calls = _records(caplog, "model_call")
    assert any(APPLES in json.dumps(vars(r)["prompt"]) for r in calls)
    assert all(vars(r)["response"] for r in calls)
    assert "30" in vars(_records(caplog, "escalation")[-1])["reason"]
    assert vars(_records(caplog, "merge")[0])["answer"]
    caplog.clear()
    await app.arun(REQUEST, sensitive=True)  # the models are local: the run goes on
    assert _records(caplog, "model_call")
    for text in map(_text_of, (r for r in caplog.records if r.name.startswith("trifecta"))):
        assert "boxes of 12 apples" not in text and "refund window" not in text


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without OpenTelemetry or trifecta settings, plus `extra`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRIFECTA_API"))}
    return clean | extra


async def test_spans_reach_a_real_otlp_receiver() -> None:
    with otlp_receiver() as receiver:
        setup_tracing(endpoint=receiver.url, service_name="trifecta-test")
        try:
            app = Trifecta(default_specialists())
            result = await app.arun("What is 15% of 80? Integrate x^2 from 0 to 3.")
        finally:
            reset_tracing()  # flushes the batch
        spans = receiver.wait_for("invoke_workflow trifecta")
    assert set(receiver.paths) == {"/v1/traces"}
    assert {s.service for s in spans} == {"trifecta-test"}
    assert sorted(s.name for s in spans) == [
        *["execute_tool sympy"] * 2,
        *["invoke_agent math"] * 2,
        "invoke_workflow trifecta",
    ]
    root = next(s for s in spans if s.name == "invoke_workflow trifecta")
    assert root.parent_id == ""
    assert root.attributes["gen_ai.conversation.id"] == result.thread_id
    assert root.attributes["trifecta.subtasks.verified"] == 2
    agents = {s.span_id: s for s in spans if s.name == "invoke_agent math"}
    assert {a.parent_id for a in agents.values()} == {root.span_id}
    for tool in (s for s in spans if s.name == "execute_tool sympy"):
        agent = agents[tool.parent_id]
        assert tool.attributes["trifecta.subtask.id"] == agent.attributes["trifecta.subtask.id"]
        assert tool.attributes["trifecta.verdict"] == agent.attributes["trifecta.verdict"]


def test_the_config_turns_export_on(tmp_path: Path) -> None:
    with otlp_receiver() as receiver:
        config = tmp_path / "trifecta.toml"
        config.write_text(
            f'checkpoint = "memory"\n[otel]\nenabled = true\nendpoint = "{receiver.url}"\n'
            'service_name = "from-config"\n'
        )
        try:
            Trifecta.from_config(load_config(config, env={})).run("What is 2+2?")
        finally:
            reset_tracing()
        spans = receiver.wait_for("invoke_workflow trifecta")
    assert {s.service for s in spans} == {"from-config"}
    assert {s.name for s in spans} >= {"invoke_workflow trifecta", "invoke_agent math"}


@pytest.mark.parametrize("endpoint", ["127.0.0.1:4318", "ftp://collector", "http://", ""])
def test_an_otel_endpoint_that_is_not_an_http_url_is_a_config_error(
    tmp_path: Path, endpoint: str
) -> None:
    config = tmp_path / "trifecta.toml"
    config.write_text(f'[otel]\nenabled = true\nendpoint = "{endpoint}"\n')
    with pytest.raises(ConfigError, match=r"otel\.endpoint"):
        load_config(config, env={})


def test_the_standard_variables_turn_export_on_for_the_command_line(tmp_path: Path) -> None:
    """``trifecta run`` with OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME sends its
    spans before the process exits; ``--log-level debug`` writes text records."""
    with otlp_receiver() as receiver:
        env = _clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_SERVICE_NAME="from-env")
        done = subprocess.run(
            [*CLI, "run", "What is 2+2?", "--checkpoint", "memory", "--log-level", "debug"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        spans = receiver.wait_for("invoke_workflow trifecta")
    assert {s.service for s in spans} == {"from-env"}
    assert sorted(s.name for s in spans) == [
        "execute_tool sympy",
        "invoke_agent math",
        "invoke_workflow trifecta",
    ]
    lines = done.stderr.splitlines()
    assert any(
        " DEBUG trifecta.specialist.math: t1 tier 0 (sympy) attempt 1: answered in " in line
        for line in lines
    )
    assert any(
        " INFO trifecta.merge: merged 1 subtask(s): 1 verified; ok;" in line for line in lines
    )


def test_tracing_is_off_and_costs_no_import_until_an_application_traces() -> None:
    """With no OTEL_* variable and no setup, a run loads no exporter and makes no span;
    once the application installs a global tracer provider, runs are traced with it."""
    script = textwrap.dedent(
        """
        import json, sys
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from trifecta import Trifecta
        from trifecta.specialists import default_specialists

        app = Trifecta(default_specialists())
        assert app.run("What is 2+2?").ok
        exporter = sorted(m for m in sys.modules if m.startswith("opentelemetry.exporter"))
        memory = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(memory))
        trace.set_tracer_provider(provider)
        assert app.run("What is 3+3?").ok
        names = sorted(s.name for s in memory.get_finished_spans())
        print(json.dumps({"exporter": exporter, "names": names}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["exporter"] == []
    assert seen["names"] == ["execute_tool sympy", "invoke_agent math", "invoke_workflow trifecta"]


def test_serve_logs_startup_and_one_access_line_per_request(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    command = [*CLI, "serve", "--port", str(port), "--checkpoint", "memory", "--log-format", "json"]
    with log.open("w") as stderr:
        server = subprocess.Popen(
            command, env=_clean_env(TRIFECTA_API_KEYS="k1"), stdout=subprocess.DEVNULL,
            stderr=stderr, cwd=tmp_path,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{url}/healthz")
            body = {"model": "trifecta", "messages": [{"role": "user", "content": "What is 2+2?"}]}
            chat = f"{url}/v1/chat/completions"
            assert httpx.post(chat, json=body).status_code == 401
            key = {"Authorization": "Bearer k1"}
            plain = httpx.post(chat, json=body, headers={**key, "X-Conversation-Id": "conv-1"})
            assert plain.status_code == 200
            streamed = httpx.post(
                chat, json={**body, "stream": True}, headers={**key, "X-Conversation-Id": "conv-2"}
            )
            assert streamed.status_code == 200 and streamed.text.endswith("data: [DONE]\n\n")
        finally:
            server.terminate()
            server.wait(timeout=30)
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    startup = [r for r in records if r.get("event") == "startup"]
    assert len(startup) == 1
    assert (
        startup[0]
        | {
            "logger": "trifecta.server",
            "level": "INFO",
            "address": f"http://127.0.0.1:{port}",
            "models": [],
            "checkpointer": "memory",
            "auth": True,
        }
        == startup[0]
    )
    access = [r for r in records if r.get("event") == "access" and r["path"] != "/healthz"]
    assert [(r["method"], r["path"], r["status"]) for r in access] == [
        ("POST", "/v1/chat/completions", 401),
        ("POST", "/v1/chat/completions", 200),
        ("POST", "/v1/chat/completions", 200),
    ]
    threads = [r["thread_id"] for r in access]
    assert threads[0] is None
    assert threads[1].startswith("key-") and threads[1].endswith("/conv-1")
    assert threads[2].startswith("key-") and threads[2].endswith("/conv-2")
    assert all(r["latency_ms"] > 0 for r in access)
    merges = [r["thread_id"] for r in records if r.get("event") == "merge"]
    assert merges == threads[1:]  # the runs' own records name the same threads
