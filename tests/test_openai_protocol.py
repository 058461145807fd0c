"""The OpenAI protocol, fuller: structured output, tools refused, the ``trifecta``
extension field as LangChain's ``ChatOpenAI`` sees it, usage, and ``/v1/responses``
with ``previous_response_id`` — driven by the official ``openai`` client and
``langchain-openai`` against a real server on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from langchain_core.messages import AIMessageChunk
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from tests.fakes import SHOP_SQL, plan
from tests.serving import serve
from trifecta import Trifecta
from trifecta.agents import ModelPlanner
from trifecta.config import Config
from trifecta.specialists import FunctionSolver, Specialist, default_specialists
from trifecta.testing import FunctionModel
from trifecta.verdict import Verdict

INTEGER_ANSWER = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(tmp_path_factory.mktemp("protocol"))


def client(url: str, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


def chat_model(url: str, **options: Any) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=f"{url}/v1", api_key="none", model="trifecta", max_retries=0, **options
    )


def schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}


def ask(url: str, content: str, **extra: Any) -> httpx.Response:
    body = {"model": "trifecta", "messages": [{"role": "user", "content": content}], **extra}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60)


def completed_runs(url: str) -> int:
    return int(httpx.get(f"{url}/healthz").json()["completed_runs"])


class Answer(BaseModel):
    answer: int


class Part(BaseModel):
    id: str
    status: str
    answer: float | str


class Parts(BaseModel):
    answer: str
    ok: bool
    subtasks: list[Part]


def test_json_schema_returns_the_verified_answer_typed(server: str) -> None:
    reply = client(server).chat.completions.create(
        model="trifecta",
        messages=[{"role": "user", "content": "What is 2+2?"}],
        response_format=schema_format(INTEGER_ANSWER),  # type: ignore[arg-type]
    )
    content = json.loads(reply.choices[0].message.content or "")
    assert content == {"answer": 4}
    jsonschema.validate(content, INTEGER_ANSWER)
    # the issue's example: LangChain's structured output against `trifecta serve`
    parsed = chat_model(server).with_structured_output(Answer).invoke("What is 2+2?")
    assert parsed == Answer(answer=4)


def test_json_schema_fills_the_subtask_fields_it_asks_for(server: str) -> None:
    parsed = (
        chat_model(server)
        .with_structured_output(Parts)
        .invoke("What is 2^10 + 3? What is 3/4 + 1/6?")
    )
    assert isinstance(parsed, Parts) and parsed.ok
    assert [(p.id, p.status, p.answer) for p in parsed.subtasks] == [
        ("t1", "verified", 1027.0),
        ("t2", "verified", "11/12"),  # not a JSON number: kept as text, never rounded
    ]
    assert "→ 1027 [t1: verified]" in parsed.answer  # several parts: the merged answer


def test_json_object_is_the_answer_with_each_part_and_its_status(server: str) -> None:
    reply = client(server).chat.completions.create(
        model="trifecta",
        messages=[{"role": "user", "content": "What is 15% of 80?"}],
        response_format={"type": "json_object"},
    )
    content = json.loads(reply.choices[0].message.content or "")
    assert content["answer"] == "12" and content["ok"] is True
    assert [(s["id"], s["status"], s["answer"]) for s in content["subtasks"]] == [
        ("t1", "verified", "12")
    ]
    assert any("verified" in line for line in content["subtasks"][0]["evidence"])


HOSTILE = {
    "requires a field trifecta does not produce": (
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "requires city",
    ),
    "an array at the top": ({"type": "array", "items": {}}, "is an object in trifecta's output"),
    "a recursive $ref": ({"$ref": "#"}, "refers back to itself"),
    "a remote $ref": ({"$ref": "https://example.invalid/s.json"}, "nothing is fetched"),
    "patternProperties": ({"type": "object", "patternProperties": {"a": {}}}, "patternProperties"),
    "lookahead": (
        {"type": "object", "properties": {"answer": {"type": "string", "pattern": "(?=4)"}}},
        "not RE2 syntax",
    ),
    "not a schema": ({"type": 5}, "not a valid JSON schema"),
    "a $ref expansion bomb": (
        {
            "$defs": {f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 2} for i in range(30)}
            | {"d30": {"type": "string"}},
            "$ref": "#/$defs/d0",
        },
        "expands to more than",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_a_schema_that_cannot_be_satisfied_is_a_400_before_the_run(server: str, case: str) -> None:
    schema, message = HOSTILE[case]
    before = completed_runs(server)
    response = ask(server, "What is 2+2?", response_format=schema_format(schema))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_response_format" and message in error["message"]
    assert completed_runs(server) == before  # refused before anything ran


def test_an_answer_that_does_not_fit_is_a_400_after_the_run(server: str) -> None:
    api = client(server)
    with pytest.raises(openai.BadRequestError, match="'11/12', not integer"):
        api.chat.completions.create(
            model="trifecta",
            messages=[{"role": "user", "content": "What is 3/4 + 1/6?"}],
            response_format=schema_format(INTEGER_ANSWER),  # type: ignore[arg-type]
        )
    # a part nothing verified never leaves as a bare value
    with pytest.raises(openai.BadRequestError, match="not integer"):
        api.chat.completions.create(
            model="trifecta",
            messages=[{"role": "user", "content": "What is 2+2? Tell me a joke."}],
            response_format=schema_format(INTEGER_ANSWER),  # type: ignore[arg-type]
        )
    bare = {
        "type": "object",
        "properties": {"subtasks": {"type": "array", "items": Answer.model_json_schema()}},
    }
    with pytest.raises(openai.BadRequestError, match="part t2 is unverifiable"):
        api.chat.completions.create(
            model="trifecta",
            messages=[{"role": "user", "content": "What is 2+2? Tell me a joke."}],
            response_format=schema_format(bare),  # type: ignore[arg-type]
        )


def test_an_unverified_part_travels_with_its_label(server: str) -> None:
    parsed = chat_model(server).with_structured_output(Parts).invoke("What is 2+2? Tell me a joke.")
    assert isinstance(parsed, Parts) and parsed.ok is False
    assert [(p.id, p.status) for p in parsed.subtasks] == [
        ("t1", "verified"),
        ("t2", "unverifiable"),
    ]
    assert "Not verified" in parsed.answer


def test_tools_are_refused_with_a_clear_400(server: str) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    api = client(server)
    with pytest.raises(openai.BadRequestError, match="tools are not supported; trifecta runs"):
        api.chat.completions.create(
            model="trifecta",
            messages=[{"role": "user", "content": "What is 2+2?"}],
            tools=[tool],  # type: ignore[list-item]
        )
    with pytest.raises(openai.BadRequestError, match="tools are not supported"):
        chat_model(server).bind_tools([Answer]).invoke("What is 2+2?")
    with pytest.raises(openai.BadRequestError, match="tools are not supported"):
        chat_model(server).with_structured_output(Answer, method="function_calling").invoke(
            "What is 2+2?"
        )
    with pytest.raises(openai.BadRequestError, match="tools are not supported"):
        api.responses.create(
            model="trifecta", input="What is 2+2?", tools=[tool["function"] | {"type": "function"}]
        )  # type: ignore[list-item]
    assert ask(server, "What is 2+2?", tool_choice="required").status_code == 400


def test_the_extension_field_reaches_langchain_response_metadata(server: str) -> None:
    # chat completions: ChatOpenAI keeps `usage` whole as response_metadata["token_usage"]
    message = chat_model(server).invoke("What is 3*3?")
    report = message.response_metadata["token_usage"]["trifecta"]
    assert [(s["status"], s["answer"]) for s in report["subtasks"]] == [("verified", "9")]
    assert report["ok"] is True and set(report["report"]) >= {"tokens_in", "cost_usd", "wall_s"}
    assert message.usage_metadata is not None and message.usage_metadata["total_tokens"] == 0
    # Responses API: ChatOpenAI copies `metadata`, plain and streamed
    responses = chat_model(server, use_responses_api=True)
    plain = responses.invoke("What is 7*7?")
    meta = json.loads(plain.response_metadata["metadata"]["trifecta"])
    assert [s["answer"] for s in meta["subtasks"]] == ["49"] and meta["ok"] is True
    streamed: Any = None
    for chunk in responses.stream("What is 8*8?"):
        assert isinstance(chunk, AIMessageChunk)
        streamed = chunk if streamed is None else streamed + chunk
    streamed_meta = json.loads(streamed.response_metadata["metadata"]["trifecta"])
    assert [s["evidence"][-1] for s in streamed_meta["subtasks"]] == [
        "c1: value 8*8 = 64: verified (exact)"
    ]
    assert "→ 64 [t1: verified]" in streamed.text


def planned_by_a_model(config: Config, saver: Any) -> Trifecta:
    model = FunctionModel(
        lambda messages, info: plan(("t1", "math", messages[-1].content.split("\n")[-1]))
    )
    return Trifecta(default_specialists(), planner=ModelPlanner(model), checkpoint=saver)


def test_usage_is_always_filled(tmp_path: Path) -> None:
    for url in serve(tmp_path, build=planned_by_a_model):
        api = client(url)
        plain = api.chat.completions.create(
            model="trifecta", messages=[{"role": "user", "content": "What is 2+2?"}]
        )
        chunks = list(
            api.chat.completions.create(
                model="trifecta",
                messages=[{"role": "user", "content": "What is 3+3?"}],
                stream=True,
            )
        )
        response = api.responses.create(model="trifecta", input="What is 4+4?")
        streamed = list(api.responses.create(model="trifecta", input="What is 5+5?", stream=True))
    usages = [plain.usage, chunks[-1].usage]
    assert all(u is not None and u.prompt_tokens > 0 for u in usages)
    assert all(u.total_tokens == u.prompt_tokens + u.completion_tokens for u in usages if u)
    final = streamed[-1]
    assert final.type == "response.completed"
    for usage in (response.usage, final.response.usage):
        assert usage is not None and usage.input_tokens > 0
        assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_responses_plain_and_previous_response_id_continue_the_thread(server: str) -> None:
    api = client(server)
    first = api.responses.create(model="trifecta", input="What is 6*7?")
    second = api.responses.create(
        model="trifecta", input="and what is that times 3?", previous_response_id=first.id
    )
    third = api.responses.create(
        model="trifecta",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Divide it by 4."}]}],
        previous_response_id=second.id,
    )
    assert "→ 42 [t1: verified]" in first.output_text
    assert "→ 126 [t1: verified]" in second.output_text and "→ 63/2" in third.output_text
    metas = [(r.model_extra or {})["trifecta"] for r in (first, second, third)]
    assert len({m["thread_id"] for m in metas}) == 1 and [m["turn"] for m in metas] == [1, 2, 3]
    assert (first.status, second.previous_response_id) == ("completed", first.id)
    assert len({first.id, second.id, third.id}) == 3


def test_responses_take_a_conversation_as_message_items(server: str) -> None:
    reply = client(server).responses.create(
        model="trifecta",
        instructions="Be brief.",
        input=[
            {"role": "user", "content": "What is 6*7?"},
            {"role": "assistant", "content": "What is 6*7? → 42 [t1: verified]"},
            {"type": "message", "role": "user", "content": "What is 2+2?"},
        ],
    )
    meta = (reply.model_extra or {})["trifecta"]
    assert meta["turn"] == 2 and [s["answer"] for s in meta["subtasks"]] == ["4"]


def test_responses_stream_the_api_events_in_order(server: str) -> None:
    events = list(
        client(server).responses.create(
            model="trifecta", input="What is 2^10 + 3? What is 3/4 + 1/6?", stream=True
        )
    )
    kinds = [e.type for e in events]
    standard = [k for k in kinds if not k.startswith("trifecta.")]
    assert standard[:2] == ["response.created", "response.in_progress"]
    assert standard[2:4] == ["response.output_item.added", "response.content_part.added"]
    assert standard[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "trifecta.progress" in kinds[: kinds.index("response.output_item.added")]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    final = events[-1].response  # type: ignore[union-attr]
    assert (
        text
        == final.output_text
        == ("What is 2^10 + 3? → 1027 [t1: verified]\nWhat is 3/4 + 1/6? → 11/12 [t2: verified]")
    )
    assert events[0].response.id == final.id  # type: ignore[union-attr]


def test_responses_structured_output_streamed_and_refused(server: str) -> None:
    schema = {"type": "json_schema", "name": "out", "schema": INTEGER_ANSWER}
    api = client(server)
    plain = api.responses.create(model="trifecta", input="What is 6*6?", text={"format": schema})  # type: ignore[typeddict-item]
    assert json.loads(plain.output_text) == {"answer": 36}
    assert chat_model(server, use_responses_api=True).with_structured_output(Answer).invoke(
        "What is 9*9?"
    ) == Answer(answer=81)
    events = list(
        api.responses.create(
            model="trifecta",
            input="What is 1/3?",
            text={"format": schema},
            stream=True,  # type: ignore[typeddict-item]
        )
    )
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.error is not None and "not integer" in failed.response.error.message


def test_previous_response_ids_are_checked(server: str) -> None:
    api = client(server)
    first = api.responses.create(model="trifecta", input="What is 5*5?")
    follow = api.responses.create(
        model="trifecta", input="What is 2*2?", previous_response_id=first.id
    )
    again = api.responses.create(
        model="trifecta", input="What is 2*2?", previous_response_id=first.id
    )
    assert again.output_text == follow.output_text and again.id == follow.id
    assert (again.model_extra or {})["trifecta"]["replayed"] is True
    with pytest.raises(openai.ConflictError, match="already answered another message"):
        api.responses.create(model="trifecta", input="What is 3*3?", previous_response_id=first.id)
    with pytest.raises(openai.NotFoundError, match="not found"):
        api.responses.create(model="trifecta", input="What is 1+1?", previous_response_id="resp_x")
    unknown = first.id.replace("resp_", "resp_") + "A"
    with pytest.raises(openai.NotFoundError):
        api.responses.create(model="trifecta", input="What is 1+1?", previous_response_id=unknown)


def test_another_api_key_cannot_continue_a_response(tmp_path: Path) -> None:
    for url in serve(tmp_path, api_keys=("alice", "bob")):
        first = client(url, "alice").responses.create(model="trifecta", input="What is 6*7?")
        with pytest.raises(openai.NotFoundError, match="not in this conversation's thread"):
            client(url, "bob").responses.create(
                model="trifecta", input="What is 1+1?", previous_response_id=first.id
            )


def test_a_chat_turn_replays_only_for_the_message_that_made_it(server: str) -> None:
    user = f"replay-{uuid.uuid4().hex[:8]}"
    assert ask(server, "What is 2+2?", user=user).status_code == 200
    same = ask(server, "What is 2+2?", user=user)
    assert same.json()["trifecta"]["replayed"] is True
    other = ask(server, "What is 3+3?", user=user)
    assert other.status_code == 409 and other.json()["error"]["code"] == "turn_conflict"


def repeating(config: Config, saver: Any) -> Trifecta:
    """An orchestrator whose one specialist answers "Repeat X" with X, verified."""
    repeat = Specialist(
        "repeat",
        "Repeats the text after 'Repeat'.",
        [FunctionSolver(lambda job: job.instruction.removeprefix("Repeat ").strip())],
        lambda job, candidate: Verdict("verified", "repeated"),
        affinity=lambda clause: 1.0 if clause.startswith("Repeat ") else 0.0,
    )
    return Trifecta([repeat], checkpoint=saver)


def test_numbers_are_converted_only_when_exact(tmp_path: Path) -> None:
    number = schema_format({"type": "object", "properties": {"answer": {"type": "number"}}})

    def answer(url: str, text: str) -> Any:
        reply = client(url).chat.completions.create(
            model="trifecta",
            messages=[{"role": "user", "content": f"Repeat {text}"}],
            response_format=number,  # type: ignore[arg-type]
        )
        return json.loads(reply.choices[0].message.content or "")["answer"]

    for url in serve(tmp_path, build=repeating):
        assert answer(url, "12.50") == 12.5
        assert answer(url, "123456789012345678901234567890") == 123456789012345678901234567890
        with pytest.raises(
            openai.BadRequestError, match="cannot be a JSON number without rounding"
        ):
            answer(url, "0.1000000000000000000000001")


def test_chat_streams_structured_output_and_its_refusal(server: str) -> None:
    api = client(server)
    chunks = list(
        api.chat.completions.create(
            model="trifecta",
            messages=[{"role": "user", "content": "What is 2+2?"}],
            response_format=schema_format(INTEGER_ANSWER),  # type: ignore[arg-type]
            stream=True,
        )
    )
    assert json.loads("".join(c.choices[0].delta.content or "" for c in chunks if c.choices)) == {
        "answer": 4
    }
    with pytest.raises(openai.APIError, match="'1/3', not integer"):
        list(
            api.chat.completions.create(
                model="trifecta",
                messages=[{"role": "user", "content": "What is 1/3?"}],
                response_format=schema_format(INTEGER_ANSWER),  # type: ignore[arg-type]
                stream=True,
            )
        )


def test_a_paused_response_is_answered_by_the_next_one(tmp_path: Path) -> None:
    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(SHOP_SQL)
    overrides: dict[str, object] = {"db": f"sqlite:///{db}", "approve": ("sql",)}
    for url in serve(tmp_path, overrides):
        api = client(url)
        asked = api.responses.create(model="trifecta", input="How many customers are there?")
        answered = api.responses.create(
            model="trifecta", input="yes", previous_response_id=asked.id
        )
    assert "Run this query on the sqlite database?" in asked.output_text
    assert (asked.model_extra or {})["trifecta"]["pending"] is True
    assert "→ 3" in answered.output_text
    assert [s["answer"] for s in (answered.model_extra or {})["trifecta"]["subtasks"]] == ["3"]
