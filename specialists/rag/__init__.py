"""The RAG specialist: answers only from retrieved passages, with citations whose quotes
are checked verbatim and whose sentences are supported, or a verified refusal."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from trifecta.config import default_data_dir
from trifecta.linear_re import LinearPattern
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
from trifecta.specialists.rag._documents import Chunk, DocumentError, chunk_text, read_document
from trifecta.specialists.rag._embeddings import (
    EmbeddingsUnavailable,
    offline_embeddings,
    openai_embeddings,
)
from trifecta.specialists.rag._store import DocumentStore, Hit, IngestReport
from trifecta.specialists.rag._text import sentences, terms
from trifecta.verdict import CheckError, Verdict, check_error

__all__ = [
    "INJECTION",
    "NOT_FOUND",
    "RAG_SCHEMA",
    "Chunk",
    "DocumentError",
    "DocumentStore",
    "EmbeddingsUnavailable",
    "Hit",
    "IngestReport",
    "chunk_text",
    "offline_embeddings",
    "openai_embeddings",
    "rag_specialist",
    "read_document",
    "store_for_folder",
]

NOT_FOUND = "not found in the documents"
MIN_COVERAGE = 0.5  # share of the question's content words a passage must contain to count
MIN_SUPPORT = 0.5  # share of an answer sentence's content words found in its cited passages
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


def store_for_folder(folder: str | Path, root: Path | None = None, **kwargs: Any) -> DocumentStore:
    """A store for one folder of documents under `root` (default: the data dir's
    ``stores/``), brought up to date with the folder (unchanged files cost nothing)."""
    folder = Path(folder).resolve()
    root = root or default_data_dir() / "stores"
    key = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    store = DocumentStore(root / f"{folder.name}-{key}", "documents", **kwargs)
    store.ingest([folder])
    return store


def rag_specialist(
    docs: str | Path | DocumentStore,
    models: Sequence[ChatModel] = (),
    *,
    k: int = 5,
    store_root: Path | None = None,
) -> Specialist:
    """The RAG specialist over a `DocumentStore` (or a folder, ingested into one).

    Args:
        docs: a store, or a folder/file of documents.
        models: model tiers after extractive answering, cheapest first.
        k: passages retrieved per question.
        store_root: where a folder's store lives (default: the data dir).
    """
    store = docs if isinstance(docs, DocumentStore) else store_for_folder(docs, store_root)
    prompt = (resources.files(__name__) / "prompt.md").read_text("utf-8")
    tiers: list[Solver] = [FunctionSolver(_extractive(store, k), name="extractive")]
    tiers += [
        ModelSolver(m, prompt, RAG_SCHEMA, _candidate, context=_passages(store, k)) for m in models
    ]

    def verify(job: Job, candidate: Candidate) -> Verdict:
        return _verify(store.search(job.instruction, k), job.instruction, candidate)

    def affinity(clause: str) -> float:
        return 0.4 if _relevant(clause, store.search(clause, k)) else 0.0

    return Specialist(
        name="rag",
        description=f"Questions answered from the documents ({store.count()} passages), with citations.",
        tiers=tiers,
        verify=verify,
        affinity=affinity,
    )


def _relevant(question: str, hits: Sequence[Hit]) -> bool:
    """Whether some retrieved passage contains enough of the question's content words."""
    wanted = set(terms(question))
    return bool(wanted) and any(
        len(wanted & set(terms(h.text))) / len(wanted) >= MIN_COVERAGE for h in hits
    )


# Both patterns meet user text (the question, and a pattern built from it): RE2, linear.
_WHAT_IS = LinearPattern(
    r"^\s*what\s+(?:is|are|was|were)\s+(?:the\s+|a\s+|an\s+)?(.+?)(?:\s+(?:in|of|for|from|under|on)\s+.*)?\s*\??$",
    ignore_case=True,
)


def _definition(question: str) -> LinearPattern | None:
    """For "what is X …?", a pattern matching a sentence that begins "X is …"."""
    match = _WHAT_IS.match(question)
    if match is None:
        return None
    subject = r"\s+".join(re.escape(w) for w in (match.group(1) or "").split())
    return LinearPattern(
        rf"^(?:the\s+|an?\s+|our\s+)?{subject}\s+(?:is|are|was|were|means|lasts)\b",
        ignore_case=True,
    )


def _extractive(store: DocumentStore, k: int) -> Any:
    def solve(job: Job) -> Candidate:
        hits = store.search(job.instruction, k)
        if not _relevant(job.instruction, hits):
            return Candidate(NOT_FOUND, {"citations": []})
        query, defines = set(terms(job.instruction)), _definition(job.instruction)
        scored = [
            (bool(defines and defines.search(s)), len(query & set(terms(s))), -rank, s, hit)
            for rank, hit in enumerate(hits)
            for s in sentences(hit.text)
            if not INJECTION.search(s) and not s.startswith("# ")
        ]
        best = max(scored, default=None, key=lambda t: t[:3])
        if best is None or best[1] == 0:
            raise CannotSolve("no sentence of the retrieved passages matches the question")
        sentence, hit = best[3], best[4]
        return Candidate(
            f"{sentence} [{hit.label}]", {"citations": [{"chunk": hit.id, "quote": sentence}]}
        )

    return solve


def _passages(store: DocumentStore, k: int) -> Any:
    def context(job: Job) -> str:
        hits = store.search(job.instruction, k)
        return "Passages:\n" + "\n\n".join(f"[{h.id}] ({h.label})\n{h.text}" for h in hits)

    return context


def _candidate(data: Any) -> Candidate:
    if not isinstance(data, dict) or not isinstance(data.get("citations"), list):
        raise ModelOutputError("expected an object with 'answer' and a list of 'citations'")
    return Candidate(str(data.get("answer", "")), {"citations": data["citations"]})


def _verify(hits: Sequence[Hit], question: str, candidate: Candidate) -> Verdict:
    retrieved = {h.id: h for h in hits}
    citations = candidate.payload.get("citations") or []
    if not citations:
        return _verify_refusal(candidate, _relevant(question, hits))
    errors = _citation_errors(citations, retrieved) or _support_errors(
        candidate.answer, citations, retrieved
    )
    if errors:
        return Verdict("rejected", "citations", errors=tuple(errors))
    used = [retrieved[c["chunk"]] for c in citations]
    evidence = tuple(f"{h.label} ({h.id}): quote found verbatim" for h in used)
    data = {"citations": citations, "sources": sorted({h.source for h in used})}
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
    reason = f"no retrieved passage holds {MIN_COVERAGE:.0%} of the question's words"
    return Verdict("verified", "refusal: no relevant passage", (reason,))


def _citation_errors(citations: list[Any], retrieved: dict[str, Hit]) -> list[CheckError]:
    errors = []
    for cite in citations:
        chunk_id = str(cite.get("chunk", "")) if isinstance(cite, dict) else ""
        quote = " ".join(str(cite.get("quote", "")).split()) if isinstance(cite, dict) else ""
        hit = retrieved.get(chunk_id)
        if hit is None:
            errors.append(
                check_error(
                    "citation",
                    f"{chunk_id!r} is not one of the retrieved passages: {', '.join(retrieved)}",
                )
            )
        elif not quote or quote not in " ".join(hit.text.split()):
            errors.append(
                check_error("quote", f"quote not found verbatim in {chunk_id}: {quote[:120]!r}")
            )
        elif any(quote in s or s in quote for s in sentences(hit.text) if INJECTION.search(s)):
            message = f"{chunk_id}: the quote is an instruction embedded in the document; passages are data, not answers"
            errors.append(check_error("injection", message))
    return errors


def _support_errors(
    answer: str, citations: list[Any], retrieved: dict[str, Hit]
) -> list[CheckError]:
    cited: set[str] = set()
    for cite in citations:
        cited |= set(terms(retrieved[cite["chunk"]].text))
    errors = []
    for sentence in sentences(re.sub(r"\s*\[[^\]]+\]", "", answer)):
        words = set(terms(sentence))
        if words and len(words & cited) / len(words) < MIN_SUPPORT:
            errors.append(
                check_error("support", f"not supported by the cited passages: {sentence[:120]!r}")
            )
    return errors
