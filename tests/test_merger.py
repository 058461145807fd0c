"""The merger's grounding rules, on merge inputs built directly."""

from __future__ import annotations

from typing import Any

from tests.fakes import scripted
from trifecta.agents.merger import MergeInput, ModelMerger, cited, ungrounded
from trifecta.ledger import Ledger
from trifecta.plan import SubtaskSpec
from trifecta.verdict import Result, check_error


def _spec(subtask: str, instruction: str) -> SubtaskSpec:
    return {"id": subtask, "specialist": "math", "instruction": instruction, "depends_on": []}


def _result(subtask: str, instruction: str, answer: str, status: Any) -> Result:
    errors = [] if status == "verified" else [check_error("value", "wrong")]
    return {
        "id": subtask, "specialist": "math", "instruction": instruction, "status": status,
        "answer": answer, "method": "exact", "evidence": [], "errors": errors, "tier": 0,
        "solver": "sympy", "attempts": 1, "elapsed_s": 0.0, "data": {},
    }  # fmt: skip


def _eleven_subtasks() -> MergeInput:
    """t1 rejected; t2…t11 verified (so the text cites [t10] and [t11])."""
    specs = [_spec(f"t{n}", "what is it") for n in range(1, 12)]
    results = {
        s["id"]: _result(
            s["id"], s["instruction"], "seven", "rejected" if s["id"] == "t1" else "verified"
        )
        for s in specs
    }
    return MergeInput("eleven questions", specs, results)


def test_citations_are_tokens_not_substrings() -> None:
    assert cited("see [t10] and [t2: verified], not t1") == {"t10", "t2"}


async def test_a_rejected_t1_is_flagged_when_the_text_cites_t10() -> None:
    merge_input = _eleven_subtasks()
    text = " ".join(f"Answer seven [t{n}]." for n in range(2, 12))
    assert ungrounded(text, merge_input) == []
    merged = await ModelMerger(scripted([text])).merge(merge_input, Ledger())
    assert text in merged
    assert "Not verified (do not rely on these):" in merged
    assert "- [t1] what is it: rejected (wrong)" in merged


def test_a_number_from_a_subtask_id_is_not_grounded() -> None:
    merge_input = _eleven_subtasks()
    text = " ".join(f"[t{n}]" for n in range(2, 12)) + " The total is 11."
    assert ungrounded(text, merge_input) == ["the number 11 is in no verified result"]
