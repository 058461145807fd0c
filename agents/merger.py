"""Mergers: compose the answer from accepted results only and flag the rest."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from trifecta.agents._prompts import prompt
from trifecta.ledger import BudgetExceeded, Ledger
from trifecta.models import ChatModel, Message, ModelError
from trifecta.plan import SubtaskSpec
from trifecta.verdict import ACCEPTED, Result, not_run_reason, superseded

__all__ = [
    "MergeInput",
    "Merger",
    "ModelMerger",
    "TemplateMerger",
    "cited",
    "flagged",
    "ungrounded",
]


@dataclass(frozen=True)
class MergeInput:
    """Everything the merger may use."""

    request: str
    subtasks: Sequence[SubtaskSpec]
    results: Mapping[str, Result]
    error: str | None = None
    stopped: str | None = None

    @property
    def accepted(self) -> list[Result]:
        """Verified or checked results, in plan order."""
        return [r for s in self.subtasks if (r := self.results.get(s["id"])) and _ok(r)]


class Merger(Protocol):
    """Writes the final answer."""

    async def merge(self, merge_input: MergeInput, ledger: Ledger) -> str:
        """Return the answer text."""
        ...


def _ok(result: Result) -> bool:
    return result["status"] in ACCEPTED


def _flags(merge_input: MergeInput) -> list[tuple[str, str]]:
    """(subtask id, line) for each subtask that has no accepted result, unless another
    specialist's re-plan of the same sentence has one."""
    out = []
    results = merge_input.results
    replaced = superseded(
        (s["id"], s["instruction"], s["specialist"], bool((r := results.get(s["id"])) and _ok(r)))
        for s in merge_input.subtasks
    )
    for spec in merge_input.subtasks:
        result = results.get(spec["id"])
        if spec["id"] in replaced:
            continue
        if result is None:
            reason = not_run_reason(spec, merge_input.results, merge_input.stopped)
            out.append((spec["id"], f"- [{spec['id']}] {spec['instruction']}: not run ({reason})"))
        elif not _ok(result):
            reason = "; ".join(e["message"] for e in result["errors"][:2]) or result["method"]
            out.append(
                (
                    spec["id"],
                    f"- [{spec['id']}] {spec['instruction']}: {result['status']} ({reason})",
                )
            )
    return out


def flagged(merge_input: MergeInput) -> list[str]:
    """One line per subtask that has no accepted result (failed or never run)."""
    return [line for _, line in _flags(merge_input)]


def _preamble(merge_input: MergeInput) -> list[str]:
    lines = []
    if merge_input.error:
        lines.append(f"Could not answer: {merge_input.error}.")
    if merge_input.stopped:
        lines.append(f"Stopped early: {merge_input.stopped}. Partial answer below.")
    return lines


class TemplateMerger:
    """The offline merger: one line per accepted result, then the flagged ones."""

    async def merge(self, merge_input: MergeInput, ledger: Ledger) -> str:
        """Compose the answer without a model."""
        lines = _preamble(merge_input)
        for result in merge_input.accepted:
            lines.append(
                f"{result['instruction']} → {result['answer']} [{result['id']}: {result['status']}]"
            )
        flags = flagged(merge_input)
        if flags:
            lines.append("Not verified (do not rely on these):")
            lines.extend(flags)
        return "\n".join(lines)


class ModelMerger:
    """The generalist merger: a model writes the answer from accepted results; any
    subtask the model's text does not cite as unverified is flagged after it.

    Its text is checked like any specialist's output: it must cite every accepted
    subtask, and every number in it must come from an accepted answer, an instruction
    or the request. Otherwise (or when the model fails, or the budget is spent) the
    `fallback` merger (the next model of the merger's chain), or else the template
    merger, writes the answer; the template adds the reason."""

    def __init__(self, model: ChatModel, *, fallback: ModelMerger | None = None) -> None:
        self.model = model
        self.fallback = fallback

    async def merge(self, merge_input: MergeInput, ledger: Ledger) -> str:
        """Ask the model, then append any missing flags."""
        if merge_input.error or not merge_input.accepted:
            return await TemplateMerger().merge(merge_input, ledger)
        try:
            reply = await ledger.call(self.model, _messages(merge_input), node="merge")
        except (ModelError, BudgetExceeded) as exc:
            return await self._fall_back(merge_input, ledger, f"merger model unavailable: {exc}")
        problems = ungrounded(reply.text, merge_input)
        if problems:
            why = f"the merger model's text was not used: {'; '.join(problems[:3])}"
            return await self._fall_back(merge_input, ledger, why)
        return _with_flags(reply.text.strip(), merge_input)

    async def _fall_back(self, merge_input: MergeInput, ledger: Ledger, why: str) -> str:
        if self.fallback is not None:
            return await self.fallback.merge(merge_input, ledger)
        return f"{await TemplateMerger().merge(merge_input, ledger)}\n({why})"


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)*(?:\.\d+)?")


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


_CITATION = re.compile(r"\[([^\[\]:\s]+)(?::[^\[\]]*)?\]")


def cited(text: str) -> set[str]:
    """The subtask ids a text cites as ``[id]`` (or ``[id: status]``) tokens."""
    return set(_CITATION.findall(text))


def ungrounded(text: str, merge_input: MergeInput) -> list[str]:
    """Why a merged text cannot be used: an accepted subtask it does not cite, or a
    number that no accepted answer, instruction or the request contains (never a
    number taken from a subtask id)."""
    accepted = merge_input.accepted
    ids = cited(text)
    problems = [f"does not cite [{r['id']}]" for r in accepted if r["id"] not in ids]
    sources = " ".join(
        [merge_input.request, *(f"{r['instruction']} {r['answer']}" for r in accepted)]
    )
    allowed = _numbers(sources)
    problems += [
        f"the number {n} is in no verified result" for n in sorted(_numbers(text) - allowed)
    ]
    return problems


def _messages(merge_input: MergeInput) -> list[Message]:
    verified = "\n".join(
        f"[{r['id']}] ({r['status']}) {r['instruction']} => {r['answer']}"
        for r in merge_input.accepted
    )
    flags = "\n".join(flagged(merge_input)) or "(none)"
    user = (
        f"Request: {merge_input.request}\n\nVerified results:\n{verified}\n\nNot verified:\n{flags}"
    )
    return [Message("system", prompt("merger")), Message("user", user)]


def _with_flags(text: str, merge_input: MergeInput) -> str:
    ids = cited(text)
    missing = [line for subtask, line in _flags(merge_input) if subtask not in ids]
    lines = [*_preamble(merge_input), text]
    if missing:
        lines += ["Not verified (do not rely on these):", *missing]
    return "\n".join(lines)
