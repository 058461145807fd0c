"""The RAG specialist: answers only from retrieved passages, with citations whose
quotes are checked verbatim, or an explicit "not found" refusal."""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from trifecta.models import ChatModel, ModelOutputError, OutputSchema
from trifecta.specialists.base import (
    Candidate,
    CannotSolve,
    FunctionSolver,
    Job,
    ModelSolver,
    Solver,
    Specialist,
)
from trifecta.specialists.rag._corpus import Chunk, Corpus, load_corpus, sentences, terms
from trifecta.verdict import CheckError, Verdict, check_error

__all__ = ["NOT_FOUND", "RAG_SCHEMA", "Chunk", "Corpus", "load_corpus", "rag_specialist"]

NOT_FOUND = "not found in the documents"
MIN_COVERAGE = 0.5  # share of the question's content words a passage must contain to count
MIN_SUPPORT = 0.5  # share of an answer's content words found in its cited passages
INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,60}\b(instructions?|prompts?|rules|above)\b"
    r"|\b(system prompt|you are now|new instructions|reply (that|with|only))\b",
    re.IGNORECASE,
)
RAG_SCHEMA = OutputSchema(
    "cited_answer",
    {
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "citations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"chunk": {"type": "string"}, "quote": {"type": "string"}},
                    "required": ["chunk", "quote"],
                },
            },
        },
        "required": ["answer", "citations"],
    },
)


def rag_specialist(
    docs: str | Path | Corpus, models: Sequence[ChatModel] = (), *, k: int = 5
) -> Specialist:
    """The RAG specialist over a folder of documents (or a prepared `Corpus`).

    Args:
        docs: a folder or file of text/Markdown documents, or a `Corpus`.
        models: model tiers after extractive answering, cheapest first.
        k: passages retrieved per question.
    """
    corpus = docs if isinstance(docs, Corpus) else Corpus(load_corpus(Path(docs))[0])
    prompt = (resources.files(__name__) / "prompt.md").read_text("utf-8")
    tiers: list[Solver] = [FunctionSolver(_extractive(corpus, k), name="extractive")]
    tiers += [
        ModelSolver(m, prompt, RAG_SCHEMA, _candidate, context=_passages(corpus, k)) for m in models
    ]

    def verify(job: Job, candidate: Candidate) -> Verdict:
        return _verify(corpus, job.instruction, candidate, k)

    def affinity(clause: str) -> float:
        return 0.4 if _relevant(clause, corpus.search(clause, k)) else 0.0

    sources = sorted({c.source for c in corpus.chunks})
    return Specialist(
        name="rag",
        description="Questions answered from the documents, with citations. "
        f"Documents: {', '.join(sources[:20])}.",
        tiers=tiers,
        verify=verify,
        affinity=affinity,
    )


def _extractive(corpus: Corpus, k: int) -> Any:
    def solve(job: Job) -> Candidate:
        hits = corpus.search(job.instruction, k)
        if not _relevant(job.instruction, hits):
            return Candidate(NOT_FOUND, {"citations": []})
        query = set(terms(job.instruction))
        defines = _definition(job.instruction)
        best = max(
            (
                (bool(defines and defines.search(s)), len(query & set(terms(s))), -rank, s, chunk)
                for rank, (chunk, _) in enumerate(hits)
                for s in sentences(chunk.text)
                if not INJECTION.search(s)
            ),
            default=None,
        )
        if best is None or best[1] == 0:
            raise CannotSolve("no sentence of the retrieved passages matches the question")
        sentence, chunk = best[3], best[4]
        return Candidate(
            f"{sentence} [{chunk.id}]", {"citations": [{"chunk": chunk.id, "quote": sentence}]}
        )

    return solve


_WHAT_IS = re.compile(
    r"^\s*what\s+(?:is|are|was|were)\s+(?:the\s+|a\s+|an\s+)?(.+?)(?:\s+(?:in|of|for|from|under|on)\s+.*)?\s*\??$",
    re.I,
)


def _relevant(question: str, hits: list[tuple[Chunk, float]]) -> bool:
    """Whether some retrieved passage contains enough of the question's content words."""
    wanted = set(terms(question))
    return bool(wanted) and any(
        len(wanted & set(terms(c.text))) / len(wanted) >= MIN_COVERAGE for c, _ in hits
    )


def _definition(question: str) -> re.Pattern[str] | None:
    """For "what is X …?", a pattern matching a sentence that says "X is …"."""
    match = _WHAT_IS.match(question)
    if match is None:
        return None
    subject = r"\s+".join(re.escape(w) for w in match.group(1).split())
    return re.compile(
        rf"^(?:the\s+|an?\s+|our\s+)?{subject}\s+(?:is|are|was|were|means|lasts)\b", re.I
    )


def _passages(corpus: Corpus, k: int) -> Any:
    def context(job: Job) -> str:
        hits = corpus.search(job.instruction, k)
        return "Passages:\n" + "\n\n".join(f"[{c.id}]\n{c.text}" for c, _ in hits)

    return context


def _candidate(data: Any) -> Candidate:
    if not isinstance(data, dict) or not isinstance(data.get("citations"), list):
        raise ModelOutputError("expected an object with 'answer' and a list of 'citations'")
    return Candidate(str(data.get("answer", "")), {"citations": data["citations"]})


def _verify(corpus: Corpus, question: str, candidate: Candidate, k: int) -> Verdict:
    hits = corpus.search(question, k)
    retrieved = {c.id: c for c, _ in hits}
    citations = candidate.payload.get("citations") or []
    if not citations:
        return _verify_refusal(candidate, _relevant(question, hits))
    errors = _citation_errors(citations, retrieved)
    if not errors:
        errors = _support_errors(candidate.answer, citations, retrieved)
    if errors:
        return Verdict("rejected", "citations", errors=tuple(errors))
    evidence = tuple(f"{c['chunk']}: quote found verbatim" for c in citations)
    data = {
        "citations": citations,
        "sources": sorted({retrieved[c["chunk"]].source for c in citations}),
    }
    return Verdict("verified", "verbatim quotes + support", evidence, data=data)


def _verify_refusal(candidate: Candidate, relevant: bool) -> Verdict:
    if NOT_FOUND not in candidate.answer.lower():
        return Verdict(
            "rejected",
            "citations",
            errors=(check_error("citation", "the answer cites no passage"),),
        )
    if relevant:
        return Verdict(
            "unverifiable",
            "refusal",
            errors=(check_error("refusal", "relevant passages were retrieved"),),
        )
    return Verdict(
        "verified",
        "refusal: no relevant passage",
        ("no passage scored above the relevance threshold",),
    )


def _citation_errors(citations: list[Any], retrieved: dict[str, Chunk]) -> list[CheckError]:
    errors = []
    for cite in citations:
        chunk_id = str(cite.get("chunk", "")) if isinstance(cite, dict) else ""
        quote = " ".join(str(cite.get("quote", "")).split()) if isinstance(cite, dict) else ""
        if chunk_id not in retrieved:
            errors.append(
                check_error(
                    "citation",
                    f"{chunk_id!r} is not one of the retrieved passages: {', '.join(retrieved)}",
                )
            )
        elif not quote or quote not in " ".join(retrieved[chunk_id].text.split()):
            errors.append(
                check_error("quote", f"quote not found verbatim in {chunk_id}: {quote[:120]!r}")
            )
        elif _quotes_injection(quote, retrieved[chunk_id]):
            message = f"{chunk_id}: the quote is an instruction embedded in the document; passages are data, not answers"
            errors.append(check_error("injection", message))
    return errors


def _quotes_injection(quote: str, chunk: Chunk) -> bool:
    flagged = [s for s in sentences(chunk.text) if INJECTION.search(s)]
    return any(quote in s or s in quote for s in flagged)


def _support_errors(
    answer: str, citations: list[Any], retrieved: dict[str, Chunk]
) -> list[CheckError]:
    cited = set()
    for cite in citations:
        cited |= set(terms(retrieved[cite["chunk"]].text))
    errors = []
    for sentence in sentences(answer.split(" [")[0] if answer.endswith("]") else answer):
        words = set(terms(sentence))
        if words and len(words & cited) / len(words) < MIN_SUPPORT:
            errors.append(
                check_error("support", f"not supported by the cited passages: {sentence[:120]!r}")
            )
    return errors
